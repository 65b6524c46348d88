// kubectl's global flags (--kubeconfig, --context, -n, --server, the
// credentials, impersonation, --request-timeout), bound with client-go's
// clientcmd, and the kubeconfig loader and REST config they give.

package plugin

import (
	"sync"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// kubeFlags are the global flags every command shares.
type kubeFlags struct {
	// KubeConfig and Namespace are --kubeconfig and -n; tests set them.
	KubeConfig *string
	Namespace  *string
	// WrapConfigFn, when set, changes every REST config made.
	WrapConfigFn func(*rest.Config) *rest.Config

	overrides clientcmd.ConfigOverrides
	cacheDir  string

	once   sync.Once
	loader clientcmd.ClientConfig
}

func newKubeFlags() *kubeFlags {
	kc, ns := "", ""
	return &kubeFlags{KubeConfig: &kc, Namespace: &ns}
}

// AddFlags adds the flags to fs, with kubectl's names and shorthands.
func (k *kubeFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(k.KubeConfig, "kubeconfig", *k.KubeConfig, "Path to the kubeconfig file to use for CLI requests.")
	flags := clientcmd.RecommendedConfigOverrideFlags("")
	flags.ContextOverrideFlags.Namespace.BindStringFlag(fs, k.Namespace)
	flags.ContextOverrideFlags.Namespace = clientcmd.FlagInfo{}
	clientcmd.BindOverrideFlags(&k.overrides, fs, flags)
	fs.StringVar(&k.cacheDir, "cache-dir", "", "Accepted for kubectl's sake; podtask keeps no discovery cache")
}

// ToRawKubeConfigLoader is the kubeconfig as the flags select and override it.
func (k *kubeFlags) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	k.once.Do(func() {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rules.DefaultClientConfig = &clientcmd.DefaultClientConfig
		if k.KubeConfig != nil && *k.KubeConfig != "" {
			rules.ExplicitPath = *k.KubeConfig
		}
		overrides := k.overrides
		if k.Namespace != nil {
			overrides.Context.Namespace = *k.Namespace
		}
		k.loader = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &overrides)
	})
	return k.loader
}

// ToRESTConfig is the REST config of the selected context.
func (k *kubeFlags) ToRESTConfig() (*rest.Config, error) {
	c, err := k.ToRawKubeConfigLoader().ClientConfig()
	if err != nil {
		return nil, err
	}
	if k.WrapConfigFn != nil {
		c = k.WrapConfigFn(c)
	}
	return c, nil
}
