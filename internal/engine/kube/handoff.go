package kube

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/objectstore"
)

// Handoff hands a file on dbaasd's machine (a backup being restored) to a
// new datastore that cannot take it yet, through the object storage: Put
// uploads it and writes a Secret in the datastore's namespace saying so,
// Get reads that Secret when the datastore can take the file, and Drop
// removes the file and the Secret once it did.
type Handoff struct {
	Store *objectstore.Config
	// Secret names the Secret; Prefix is where the files are in the
	// storage: Prefix/<datastore id>/<name>.
	Secret, Prefix string
}

// Key is where Put uploads a datastore's file of this name (a key of the
// storage, below its own prefix).
func (h Handoff) Key(datastoreID, name string) string {
	return h.Prefix + "/" + datastoreID + "/" + name
}

// Put uploads src to key and writes the Secret with data, in c's
// namespace (made when missing).
func (k *Client) PutHandoff(ctx context.Context, c *engine.Cluster, h Handoff, key, src string, data map[string][]byte) error {
	store, err := objectstore.New(*h.Store)
	if err != nil {
		return err
	}
	if err := store.Put(ctx, key, src); err != nil {
		return fmt.Errorf("upload %s for the new datastore: %w", key, err)
	}
	ns := Namespace(c.ID)
	if err := k.EnsureNamespace(ctx, ns, Labels(c)); err != nil {
		return err
	}
	return k.EnsureSecret(ctx, ns, h.Secret, Labels(c), data, corev1.SecretTypeOpaque)
}

// HandedOff is the data of the datastore's handoff Secret, nil when there
// is none.
func (k *Client) HandedOff(ctx context.Context, datastoreID string, h Handoff) (map[string][]byte, error) {
	ns := Namespace(datastoreID)
	var sec corev1.Secret
	err := k.Get(ctx, Secrets, ns, h.Secret, &sec)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, Error(err, "get secret %s/%s", ns, h.Secret)
	}
	if sec.Data == nil {
		sec.Data = map[string][]byte{}
	}
	return sec.Data, nil
}

// DropHandoff deletes the datastore's handed-off files, then the Secret.
func (k *Client) DropHandoff(ctx context.Context, datastoreID string, h Handoff) error {
	if h.Store != nil {
		store, err := objectstore.New(*h.Store)
		if err != nil {
			return err
		}
		if err := store.DeletePrefix(ctx, h.Prefix+"/"+datastoreID+"/"); err != nil {
			return fmt.Errorf("delete the files handed to datastore %s: %w", datastoreID, err)
		}
	}
	ns := Namespace(datastoreID)
	if err := k.Remove(ctx, Secrets, ns, h.Secret, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return Error(err, "delete secret %s/%s", ns, h.Secret)
	}
	return nil
}
