package mariadbop

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/mysql"
)

// What dbaasd writes of a MariaDB: the engine's topology from the start,
// a server per node, the flavor as limits and volume size, the image of
// the local MariaDB's version; the storage class only when it is made.
func TestApplySpec(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode           string
		galera, native bool
	}{{mysql.ModeNative, false, true}, {mysql.ModeSync, true, false}} {
		d := &Driver{opts: Options{Mode: tc.mode, Image: "reg/mariadb:{version}", ImagePullPolicy: "Never", StorageClass: "fast", RequestFraction: 0.5}}
		c := cluster(1)
		c.Flavor = engine.Flavor{VCPUs: 2, RAMMB: 2048, DiskGB: 7}
		m := &MariaDB{}
		m.Spec.Suspend = true
		if err := d.applySpec(m, c, "10.11", "[mysqld]\n"); err != nil {
			t.Fatal(err)
		}
		s := m.Spec
		if s.Image != "reg/mariadb:10.11" || s.ImagePullPolicy != "Never" || s.Replicas != 1 || s.Suspend ||
			s.RootPasswordSecretKeyRef.Name != rootSecret || s.MyCnf == nil || *s.MyCnf != "[mysqld]\n" {
			t.Errorf("%s: spec %+v", tc.mode, s)
		}
		if (s.Galera != nil && s.Galera.Enabled) != tc.galera || (s.Replication != nil && s.Replication.Enabled) != tc.native {
			t.Errorf("%s: galera %+v replication %+v", tc.mode, s.Galera, s.Replication)
		}
		if s.Storage.Size == nil || s.Storage.Size.Cmp(resource.MustParse("7Gi")) != 0 || s.Storage.StorageClassName != "fast" {
			t.Errorf("%s: storage %+v", tc.mode, s.Storage)
		}
		if lim := s.Resources.Limits; lim.Cpu().Cmp(resource.MustParse("2")) != 0 || lim.Memory().Cmp(resource.MustParse("2Gi")) != 0 {
			t.Errorf("%s: limits %v", tc.mode, lim)
		}
		if req := s.Resources.Requests; req.Cpu().Cmp(resource.MustParse("1")) != 0 {
			t.Errorf("%s: requests %v", tc.mode, req)
		}
		// A MariaDB that exists keeps its class: the operator cannot move
		// volumes to another.
		made := &MariaDB{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.Now()}}
		made.Spec.Storage.StorageClassName = "slow"
		if err := d.applySpec(made, c, "10.11", ""); err != nil || made.Spec.Storage.StorageClassName != "slow" {
			t.Errorf("%s: the class of an existing MariaDB became %q (%v)", tc.mode, made.Spec.Storage.StorageClassName, err)
		}
	}
}
