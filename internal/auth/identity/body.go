package identity

import (
	"encoding/json"
	"net/http"
	"time"
)

// keystoneTime is the timestamp format of Keystone token bodies
// (ISO 8601, UTC, microseconds, "Z").
const keystoneTime = "2006-01-02T15:04:05.000000Z"

// neverExpires is the expiry shown for tokens that have none (static
// tokens validated through the identity endpoint).
const neverExpires = "9999-12-31T23:59:59.000000Z"

type domainRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type userRef struct {
	ID                string    `json:"id"`
	Name              string    `json:"name"`
	Domain            domainRef `json:"domain"`
	PasswordExpiresAt *string   `json:"password_expires_at"`
}

type projectRef struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	Domain domainRef `json:"domain"`
}

type roleRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Endpoint is one endpoint of a catalog entry.
type Endpoint struct {
	ID        string `json:"id"`
	Interface string `json:"interface"`
	Region    string `json:"region"`
	RegionID  string `json:"region_id"`
	URL       string `json:"url"`
}

// CatalogEntry is one service of the catalog.
type CatalogEntry struct {
	ID        string     `json:"id"`
	Type      string     `json:"type"`
	Name      string     `json:"name"`
	Endpoints []Endpoint `json:"endpoints"`
}

type tokenBody struct {
	Methods   []string       `json:"methods"`
	User      userRef        `json:"user"`
	AuditIDs  []string       `json:"audit_ids"`
	IssuedAt  string         `json:"issued_at"`
	ExpiresAt string         `json:"expires_at"`
	Project   projectRef     `json:"project"`
	IsDomain  bool           `json:"is_domain"`
	Roles     []roleRef      `json:"roles"`
	Catalog   []CatalogEntry `json:"catalog"`
}

type tokenResponse struct {
	Token tokenBody `json:"token"`
}

// Service types in the catalog.
const (
	ServiceIdentity        = "identity"
	ServiceManagedDatabase = "managed-database"
)

// catalog lists the services of dbaasd at base (no trailing slash) in region.
func catalog(base, region string) []CatalogEntry {
	entry := func(typ, name, url string) CatalogEntry {
		return CatalogEntry{
			ID: hexID("service", typ), Type: typ, Name: name,
			Endpoints: []Endpoint{{
				ID: hexID("endpoint", typ, region, "public"), Interface: "public",
				Region: region, RegionID: region, URL: url,
			}},
		}
	}
	return []CatalogEntry{
		entry(ServiceIdentity, "keystone", base+"/identity/v3"),
		entry(ServiceManagedDatabase, "dbaas", base+"/v1"),
	}
}

func formatTime(t *time.Time) string {
	if t == nil {
		return neverExpires
	}
	return t.UTC().Format(keystoneTime)
}

// errorBody is Keystone's error body (the same shape as the API's).
type errorBody struct {
	Error struct {
		Code    int    `json:"code"`
		Title   string `json:"title"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, message string) {
	var b errorBody
	b.Error.Code, b.Error.Title, b.Error.Message = code, http.StatusText(code), message
	writeJSON(w, code, b)
}
