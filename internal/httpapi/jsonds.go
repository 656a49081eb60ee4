package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/httpapi/gen"
)

// The answers of GET /v1/datastores and /v1/datastores/{id} are written
// without reflection: they are the API's hottest answers (a list of 100
// datastores is 110 kB). The bytes are those encoding/json would write for
// the generated types (TestDatastoreJSON compares them), keys in the
// order of the struct's fields.

// listDatastoresAnswer is the 200 answer of GET /v1/datastores.
type listDatastoresAnswer struct{ list []gen.Datastore }

func (a listDatastoresAnswer) VisitListDatastoresResponse(w http.ResponseWriter) error {
	b := make([]byte, 0, 64+1100*len(a.list))
	b = append(b, `{"datastores":[`...)
	for i := range a.list {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendDatastore(b, &a.list[i]); err != nil {
			return err
		}
	}
	return writeJSONBytes(w, append(b, "]}\n"...))
}

// getDatastoreAnswer is the 200 answer of GET /v1/datastores/{id}.
type getDatastoreAnswer struct{ d gen.Datastore }

func (a getDatastoreAnswer) VisitGetDatastoreResponse(w http.ResponseWriter) error {
	b := make([]byte, 0, 1200)
	b, err := appendDatastore(append(b, `{"datastore":`...), &a.d)
	if err != nil {
		return err
	}
	return writeJSONBytes(w, append(b, "}\n"...))
}

func writeJSONBytes(w http.ResponseWriter, b []byte) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b)
	return err
}

// appendDatastore appends d as encoding/json would encode it.
func appendDatastore(b []byte, d *gen.Datastore) ([]byte, error) {
	b = append(b, `{"allow_restore":`...)
	b = strconv.AppendBool(b, d.AllowRestore)
	b = append(b, `,"backup_retention_days":`...)
	b = strconv.AppendInt(b, int64(d.BackupRetentionDays), 10)
	b = append(b, `,"config":`...)
	b, err := appendAnyMap(b, d.Config)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"connection":`...)
	b = appendStringMap(b, d.Connection)
	b = append(b, `,"created_at":`...)
	b = appendString(b, d.CreatedAt)
	b = append(b, `,"creation_finished_at":`...)
	b = appendStringPtr(b, d.CreationFinishedAt)
	b = append(b, `,"databases_count":`...)
	b = strconv.AppendInt(b, int64(d.DatabasesCount), 10)
	b = append(b, `,"disk_used":`...)
	b = strconv.AppendInt(b, int64(d.DiskUsed), 10)
	b = append(b, `,"enabled":`...)
	b = strconv.AppendBool(b, d.Enabled)
	b = append(b, `,"firewall":`...)
	if d.Firewall == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, f := range d.Firewall {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"ip":`...)
			b = appendString(b, f.Ip)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"flavor":{"disk":`...)
	b = strconv.AppendInt(b, int64(d.Flavor.Disk), 10)
	b = append(b, `,"disk_type":`...)
	b = appendString(b, d.Flavor.DiskType)
	b = append(b, `,"ram":`...)
	b = strconv.AppendInt(b, int64(d.Flavor.Ram), 10)
	b = append(b, `,"vcpus":`...)
	b = strconv.AppendInt(b, int64(d.Flavor.Vcpus), 10)
	b = append(b, `},"flavor_id":`...)
	if d.FlavorId == nil {
		b = append(b, "null"...)
	} else {
		b = appendUUID(b, *d.FlavorId)
	}
	b = append(b, `,"id":`...)
	b = appendUUID(b, d.Id)
	b = append(b, `,"instances":`...)
	if d.Instances == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range d.Instances {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendInstance(b, &d.Instances[i])
		}
		b = append(b, ']')
	}
	b = append(b, `,"is_maintenance":`...)
	b = strconv.AppendBool(b, d.IsMaintenance)
	b = append(b, `,"is_protected":`...)
	b = strconv.AppendBool(b, d.IsProtected)
	b = append(b, `,"log_platform":`...)
	if d.LogPlatform == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"log_group":`...)
		b = appendString(b, d.LogPlatform.LogGroup)
		b = append(b, '}')
	}
	b = append(b, `,"name":`...)
	b = appendString(b, d.Name)
	b = append(b, `,"node_count":`...)
	b = strconv.AppendInt(b, int64(d.NodeCount), 10)
	b = append(b, `,"pooler":`...)
	if d.Pooler == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"mode":`...)
		b = appendString(b, d.Pooler.Mode)
		b = append(b, `,"size":`...)
		b = strconv.AppendInt(b, int64(d.Pooler.Size), 10)
		b = append(b, '}')
	}
	b = append(b, `,"project_id":`...)
	b = appendString(b, d.ProjectId)
	b = append(b, `,"security_groups":`...)
	if d.SecurityGroups == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, g := range d.SecurityGroups {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendUUID(b, g)
		}
		b = append(b, ']')
	}
	b = append(b, `,"status":`...)
	b = appendString(b, d.Status)
	b = append(b, `,"subnet_id":`...)
	b = appendUUID(b, d.SubnetId)
	b = append(b, `,"topics_count":`...)
	b = strconv.AppendInt(b, int64(d.TopicsCount), 10)
	b = append(b, `,"type_id":`...)
	b = appendUUID(b, d.TypeId)
	b = append(b, `,"updated_at":`...)
	b = appendString(b, d.UpdatedAt)
	return append(b, '}'), nil
}

func appendInstance(b []byte, in *gen.Instance) []byte {
	b = append(b, `{"availability_zone":`...)
	b = appendString(b, in.AvailabilityZone)
	b = append(b, `,"floating_ip":`...)
	b = appendStringPtr(b, in.FloatingIp)
	b = append(b, `,"hostname":`...)
	b = appendString(b, in.Hostname)
	b = append(b, `,"id":`...)
	b = appendUUID(b, in.Id)
	b = append(b, `,"ip":`...)
	b = appendString(b, in.Ip)
	b = append(b, `,"role":`...)
	b = appendString(b, in.Role)
	b = append(b, `,"role_name":`...)
	b = appendString(b, in.RoleName)
	b = append(b, `,"status":`...)
	b = appendString(b, in.Status)
	return append(b, '}')
}

// appendString appends s as a JSON string, escaped as encoding/json does
// (HTML characters too); strings that need more than quotes go through
// encoding/json itself.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			out, _ := json.Marshal(s)
			return append(b, out...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

func appendUUID(b []byte, u uuid.UUID) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return append(b, '"')
}

func appendStringMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

// appendAnyMap appends a configuration map: an empty one directly, others
// (values of any JSON type) through encoding/json.
func appendAnyMap(b []byte, m map[string]any) ([]byte, error) {
	switch {
	case m == nil:
		return append(b, "null"...), nil
	case len(m) == 0:
		return append(b, "{}"...), nil
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return append(b, out...), nil
}
