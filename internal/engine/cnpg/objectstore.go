package cnpg

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/cnpg/crd"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
	"github.com/dbaasd/dbaasd/internal/objectstore"
)

// ObjectStore is the S3-compatible bucket (--backup-store) that receives
// the clusters' WAL and base backups (barman-cloud, run by the operator's
// instances): each datastore's files go under s3://Bucket/Prefix/<id>/.
// Its endpoint is reached by the pods and by dbaasd (which purges a
// deleted datastore's backups); the credentials go into a secret in the
// datastore's namespace, never into a spec or a log.
type ObjectStore = objectstore.Config

// destination is the barman destination path of the datastores' files.
func destination(o *ObjectStore) string {
	p := strings.Trim(o.Prefix, "/")
	if p != "" {
		p += "/"
	}
	return "s3://" + o.Bucket + "/" + p
}

// objectStore is the barman object store configuration of a datastore:
// its server name is the datastore's id.
func (d *Driver) objectStore(id string) *crd.BarmanObjectStoreConfiguration {
	o := d.opts.ObjectStore
	return &crd.BarmanObjectStoreConfiguration{
		DestinationPath: destination(o),
		EndpointURL:     o.Endpoint,
		ServerName:      serverName(id),
		BarmanCredentials: crd.BarmanCredentials{AWS: &crd.S3Credentials{
			AccessKeyIDReference:     s3Key("ACCESS_KEY_ID"),
			SecretAccessKeyReference: s3Key("ACCESS_SECRET_KEY"),
			RegionReference:          d.regionRef(),
		}},
		Wal:  &crd.WalBackupConfiguration{Compression: crd.CompressionGzip},
		Data: &crd.DataBackupConfiguration{Compression: crd.CompressionGzip},
	}
}

// serverName is barman's server name of a datastore: the directory of its
// base backups and WAL under the destination path.
func serverName(id string) string { return strings.ToLower(id) }

// s3Key names a key of the object store's secret.
func s3Key(key string) *crd.SecretKeySelector {
	return &crd.SecretKeySelector{LocalObjectReference: crd.LocalObjectReference{Name: s3Secret}, Key: key}
}

func (d *Driver) regionRef() *crd.SecretKeySelector {
	if d.opts.ObjectStore.Region == "" {
		return nil
	}
	return s3Key("REGION")
}

func (d *Driver) ensureObjectStoreSecret(ctx context.Context, c *engine.Cluster) error {
	o := d.opts.ObjectStore
	data := map[string][]byte{"ACCESS_KEY_ID": []byte(o.AccessKey), "ACCESS_SECRET_KEY": []byte(o.SecretKey)}
	if o.Region != "" {
		data["REGION"] = []byte(o.Region)
	}
	return d.ensureSecret(ctx, kube.Namespace(c.ID), s3Secret, c, data, corev1.SecretTypeOpaque)
}
