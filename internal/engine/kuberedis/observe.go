package kuberedis

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
	"github.com/dbaasd/dbaasd/internal/engine/redis"
)

// askTimeout bounds one question to a server or sentinel.
const askTimeout = 3 * time.Second

// serverAddr and sentinelAddr are where dbaasd reaches node n's server and
// sentinel ("" when the node has no sentinel port).
func serverAddr(n engine.Node) string { return net.JoinHostPort(n.Host, strconv.Itoa(n.Port)) }

func sentinelAddr(n engine.Node) string {
	if p := n.Ports[sentinelPortName]; p > 0 {
		return net.JoinHostPort(n.Host, strconv.Itoa(p))
	}
	return ""
}

// ask runs fn on a connection of the internal user to addr, within
// askTimeout (redis.DialInternal: a server that is not there is a plain
// dial error).
func ask(ctx context.Context, c *engine.Cluster, addr string, fn func(context.Context, *goredis.Client) error) error {
	ctx, cancel := context.WithTimeout(ctx, askTimeout)
	defer cancel()
	cl, err := redis.DialInternal(ctx, c, addr, askTimeout)
	if err != nil {
		return err
	}
	defer func() { _ = cl.Close() }()
	return fn(ctx, cl)
}

// replication is node n's INFO replication.
func replication(ctx context.Context, c *engine.Cluster, n engine.Node) (redis.Replication, error) {
	var r redis.Replication
	err := ask(ctx, c, serverAddr(n), func(ctx context.Context, cl *goredis.Client) error {
		s, err := cl.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		r = redis.ParseReplication(s)
		return nil
	})
	return r, err
}

// state is what dbaasd read of a datastore: its StatefulSet (nil when
// there is none) and pods by name.
type state struct {
	set  *appsv1.StatefulSet
	pods map[string]*corev1.Pod
}

// read reads c's StatefulSet and pods.
func (d *Driver) read(ctx context.Context, c *engine.Cluster) (state, error) {
	ns := kube.Namespace(c.ID)
	st := state{pods: map[string]*corev1.Pod{}}
	ss := &appsv1.StatefulSet{}
	err := d.kc.Get(ctx, kube.StatefulSets, ns, setName, ss)
	switch {
	case apierrors.IsNotFound(err):
		return st, nil
	case err != nil:
		return st, kube.Error(err, "get statefulset %s/%s", ns, setName)
	}
	st.set = ss
	pods, err := kube.List[corev1.Pod](ctx, d.kc, kube.Pods, ns, map[string]string{labelApp: setName})
	if err != nil {
		return st, kube.Error(err, "list pods in %s", ns)
	}
	for i := range pods {
		st.pods[pods[i].Name] = &pods[i]
	}
	return st, nil
}

// Observe implements engine.Driver: a node is ACTIVE when its pod is
// ready and its server answers dbaasd through the node's Service; its role
// is the one the server states. Each node's sentinel and forwarder are
// supporting processes: the pod's containers.
func (d *Driver) Observe(ctx context.Context, c *engine.Cluster) (engine.Observation, error) {
	st, err := d.read(ctx, c)
	if err != nil {
		return engine.Observation{}, err
	}
	return d.observe(ctx, c, st), nil
}

// observe maps the pods and what their servers say onto c's nodes.
func (d *Driver) observe(ctx context.Context, c *engine.Cluster, st state) engine.Observation {
	nodes := sortedNodes(c)
	out := engine.Observation{Nodes: make([]engine.NodeState, len(nodes))}
	repl := make([]redis.Replication, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		out.Nodes[i] = engine.NodeState{ID: n.ID, Role: engine.RoleUnknown, Status: engine.NodeDown}
		name := podName(i)
		switch {
		case st.set == nil:
			out.Nodes[i].Detail = "the datastore has no StatefulSet"
		case st.set.Spec.Replicas != nil && *st.set.Spec.Replicas == 0:
			out.Nodes[i].Detail = "stopped"
		default:
			if down := kube.PodDown(name, st.pods[name]); down != "" {
				out.Nodes[i].Detail = down
				break
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := replication(ctx, c, n)
				if err != nil {
					out.Nodes[i].Detail = "the server does not answer: " + err.Error()
					return
				}
				repl[i] = r
				out.Nodes[i].Status = engine.NodeActive
			}()
		}
		if len(nodes) > 1 && st.set != nil {
			out.Processes = append(out.Processes, container(n.ID, "redis-sentinel", st.pods[name], sentinelContainer))
		}
	}
	wg.Wait()
	master := -1
	for i := range nodes {
		if out.Nodes[i].Status != engine.NodeActive {
			continue
		}
		if repl[i].Master && (master < 0 || repl[i].Replicas > repl[master].Replicas) {
			master = i
		}
	}
	for i := range nodes {
		s := &out.Nodes[i]
		if s.Status != engine.NodeActive {
			continue
		}
		r := repl[i]
		s.Position = uint64(max(r.Offset, 0))
		switch {
		case r.Master && i == master:
			s.Role = engine.RoleMaster
		case r.Master:
			s.Detail = "still acts as master, but " + podName(master) + " is the master its replicas follow"
		default:
			s.Role = engine.RoleReplica
			if master >= 0 && podIndex(r.MasterHost) == master && repl[master].Offset >= r.Offset {
				s.LagBytes = repl[master].Offset - r.Offset
			}
			if !r.LinkUp {
				s.Detail = "replication link to the master is down"
				if r.Syncing {
					s.Detail = "copying the master's dataset"
				}
			}
		}
	}
	return out
}

// container is a supporting process: a container of a pod.
func container(nodeID, what string, p *corev1.Pod, name string) engine.ProcessState {
	ps := engine.ProcessState{Name: what, NodeID: nodeID}
	if p == nil {
		ps.Detail = "no pod"
		return ps
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name != name {
			continue
		}
		ps.Up = cs.State.Running != nil
		if !ps.Up {
			ps.Detail = fmt.Sprintf("container %s of pod %s is not running", name, p.Name)
		}
		return ps
	}
	ps.Detail = fmt.Sprintf("pod %s has no %s container yet", p.Name, name)
	return ps
}
