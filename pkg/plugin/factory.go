// The client factory: the REST config and the clients, built once from
// kubectl's global flags (the user agent set once, on the config) and handed
// to every command and to completion. Tests hand in a fake.

package plugin

import (
	"fmt"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiversion "k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	appsv1client "k8s.io/client-go/kubernetes/typed/apps/v1"
	batchv1client "k8s.io/client-go/kubernetes/typed/batch/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// Factory gives a command what it needs of the cluster. Every method may
// be called many times: the config and the clients are made once.
type Factory interface {
	// Namespace is -n, else the kubeconfig's; explicit says -n was given.
	Namespace() (ns string, explicit bool, err error)
	// RawConfig is the merged kubeconfig (contexts, clusters, users).
	RawConfig() (clientcmdapi.Config, error)
	CoreV1() (corev1client.CoreV1Interface, error)
	BatchV1() (batchv1client.BatchV1Interface, error)
	AppsV1() (appsv1client.AppsV1Interface, error)
	// ServerVersion asks the API server for its version.
	ServerVersion() (*apiversion.Info, error)
	// Engine is the launch engine on these clients.
	Engine() (*launch.Engine, error)
}

// userAgent is what the API server's audit log records for the plugin.
func userAgent() string { return "kubectl-podtask/" + version }

// Client-side rate limit of every client. client-go's own default (5
// requests a second, bursts of 10) is for controllers that run forever; a
// mapped run of 100 items sends some 300 requests within seconds and would
// wait a minute for its own limiter. The API server's priority and fairness
// is what protects the cluster; these bound only a runaway plugin.
const (
	clientQPS   = 50
	clientBurst = 100
)

// clientFactory is the Factory of a real cluster, from kubectl's flags.
type clientFactory struct {
	flags *kubeFlags

	mu     sync.Mutex
	cfg    *rest.Config
	core   corev1client.CoreV1Interface
	engine *launch.Engine
}

// newFactory wraps the flags' REST config so that every client made from
// it carries the plugin's user agent.
func newFactory(flags *kubeFlags) *clientFactory {
	wrap := flags.WrapConfigFn
	flags.WrapConfigFn = func(c *rest.Config) *rest.Config {
		if wrap != nil {
			c = wrap(c)
		}
		c.UserAgent = userAgent()
		if c.QPS == 0 && c.RateLimiter == nil {
			c.QPS, c.Burst = clientQPS, clientBurst
		}
		return c
	}
	return &clientFactory{flags: flags}
}

func kubeconfigErr(err error) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf("kubeconfig: %w", err)}
}

func (f *clientFactory) Namespace() (string, bool, error) {
	ns, explicit, err := f.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", false, kubeconfigErr(err)
	}
	return ns, explicit, nil
}

func (f *clientFactory) RawConfig() (clientcmdapi.Config, error) {
	return f.flags.ToRawKubeConfigLoader().RawConfig()
}

// config is the REST config, made once.
func (f *clientFactory) config() (*rest.Config, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cfg != nil {
		return f.cfg, nil
	}
	cfg, err := f.flags.ToRESTConfig()
	if err != nil {
		return nil, kubeconfigErr(err)
	}
	f.cfg = cfg
	return cfg, nil
}

func (f *clientFactory) CoreV1() (corev1client.CoreV1Interface, error) {
	cfg, err := f.config()
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.core == nil {
		if f.core, err = corev1client.NewForConfig(cfg); err != nil {
			return nil, kubeconfigErr(err)
		}
	}
	return f.core, nil
}

func (f *clientFactory) BatchV1() (batchv1client.BatchV1Interface, error) {
	cfg, err := f.config()
	if err != nil {
		return nil, err
	}
	return batchv1client.NewForConfig(cfg)
}

func (f *clientFactory) AppsV1() (appsv1client.AppsV1Interface, error) {
	cfg, err := f.config()
	if err != nil {
		return nil, err
	}
	return appsv1client.NewForConfig(cfg)
}

func (f *clientFactory) ServerVersion() (*apiversion.Info, error) {
	cfg, err := f.config()
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return dc.ServerVersion()
}

// Engine builds the engine on the typed core/v1 client.
func (f *clientFactory) Engine() (*launch.Engine, error) {
	core, err := f.CoreV1()
	if err != nil {
		return nil, err
	}
	cfg, _ := f.config()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.engine == nil {
		f.engine = &launch.Engine{Client: core, Exec: &launch.RemoteExecutor{Config: cfg, Client: core.RESTClient()}}
		if batch, err := batchv1client.NewForConfig(cfg); err == nil {
			f.engine.Batch = batch
		}
	}
	return f.engine, nil
}

// namespaceOrAll is the namespace a listing command looks in: every one
// with -A, else -n or the kubeconfig's.
func namespaceOrAll(f Factory, all bool) (string, error) {
	if all {
		return metav1.NamespaceAll, nil
	}
	ns, _, err := f.Namespace()
	return ns, err
}
