package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes/scheme"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"

	"github.com/podtask-dev/kubectl-podtask/pkg/pullsecret"
)

// defaultDockerConfigFlag is what a bare --from-docker-config stands for:
// the docker CLI's own config file.
const defaultDockerConfigFlag = "$DOCKER_CONFIG/config.json"

const pullSecretFieldManager = "kubectl-podtask"

const (
	dryRunNone   = "none"
	dryRunClient = "client"
	dryRunServer = "server"
)

// CreatePullSecretOptions holds the inputs of `kubectl podtask create-pull-secret`.
type CreatePullSecretOptions struct {
	// Output is -o: yaml, json or name; empty prints "secret/NAME created".
	Output string

	Name             string
	Server           string
	Username         string
	Email            string
	Password         string
	PasswordStdin    bool
	FromFiles        []string
	FromDockerConfig string
	ServiceAccount   string
	Overwrite        bool
	DryRun           string

	// Set by Complete.
	cmd             *cobra.Command
	args            []string
	serverSet       bool
	passwordFlagSet bool
	dockerConfigSet bool
	Namespace       string

	// Client is the API; Run takes the factory's unless it is set (tests),
	// and none for a client dry run.
	Client  corev1client.CoreV1Interface
	factory Factory

	// Seams.
	Helpers pullsecret.HelperRunner
	Getenv  func(string) string
	// ReadPassword prompts on a terminal without echo; nil when stdin is
	// not a terminal.
	ReadPassword func(prompt string) (string, error)

	genericiooptions.IOStreams
}

// NewCreatePullSecretOptions returns options with kubectl's defaults.
func NewCreatePullSecretOptions(streams genericiooptions.IOStreams) *CreatePullSecretOptions {
	return &CreatePullSecretOptions{
		Server:    pullsecret.DockerHubServer,
		DryRun:    dryRunNone,
		Helpers:   pullsecret.ExecHelperRunner{},
		Getenv:    os.Getenv,
		IOStreams: streams,
	}
}

func newCmdCreatePullSecret(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdCreatePullSecretWith(f, NewCreatePullSecretOptions(streams))
}

// newCmdCreatePullSecretWith wires the command to prepared options; tests
// set the options' seams (Client, Helpers, ReadPassword) first.
func newCmdCreatePullSecretWith(factory Factory, o *CreatePullSecretOptions) *cobra.Command {
	o.factory = factory
	cmd := &cobra.Command{
		Use:                   "create-pull-secret NAME [--docker-server=SERVER] --docker-username=USER [--password-stdin] [--docker-email=EMAIL] [--from-file=[key=]PATH] [--from-docker-config[=PATH]] [--service-account=SA] [--overwrite] [--dry-run=none|client|server] [-o yaml|json]",
		DisableFlagsInUseLine: true,
		Short:                 "Create an image pull secret, safely (a safer 'kubectl create secret docker-registry')",
		Long: `Create a kubernetes.io/dockerconfigjson Secret that lets the kubelet pull images
from a private registry. For the same inputs it stores exactly what
'kubectl create secret docker-registry' stores, but the password does not
have to go on the command line: pipe it to --password-stdin, or type it at
the prompt. --from-docker-config copies a login from your docker config,
including logins kept by credential helpers, and --service-account adds the
secret to a service account's imagePullSecrets.`,
		Example: `  # Password from stdin (or leave out --password-stdin on a terminal to be prompted)
  printf '%s' "$REGISTRY_TOKEN" | kubectl podtask create-pull-secret regcred \
      --docker-server=registry.example.com --docker-username=ci --password-stdin

  # Copy your docker login for one registry, and let the default service account use it
  kubectl podtask create-pull-secret regcred --from-docker-config \
      --docker-server=registry.example.com --service-account=default

  # Copy every login from a given docker config, replacing an existing secret
  kubectl podtask create-pull-secret regcred --from-docker-config=./config.json --overwrite

  # Store an existing docker config file as it is
  kubectl podtask create-pull-secret regcred --from-file=$HOME/.docker/config.json`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmdContext(cmd))
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: yaml, json or name (default: secret/NAME created)")
	f := cmd.Flags()
	f.StringVar(&o.Server, "docker-server", o.Server, "Server location for the docker registry")
	f.StringVar(&o.Username, "docker-username", o.Username, "Username for docker registry authentication")
	f.StringVar(&o.Email, "docker-email", o.Email, "Email for the docker registry (optional)")
	f.StringVar(&o.Password, "docker-password", o.Password, "Password for docker registry authentication (lands in shell history: prefer --password-stdin or the prompt)")
	f.BoolVar(&o.PasswordStdin, "password-stdin", o.PasswordStdin, "Read the password from stdin (one trailing newline is dropped)")
	f.StringSliceVar(&o.FromFiles, "from-file", o.FromFiles, "A docker config file to store as it is, as [key=]PATH; the key defaults to "+corev1.DockerConfigJsonKey)
	f.StringVar(&o.FromDockerConfig, "from-docker-config", "", "Copy logins from a docker CLI config (default "+defaultDockerConfigFlag+" or ~/.docker/config.json): the one for --docker-server if given, else all; credential helpers are run as docker runs them")
	f.Lookup("from-docker-config").NoOptDefVal = defaultDockerConfigFlag
	f.StringVar(&o.ServiceAccount, "service-account", o.ServiceAccount, "Also add the secret to this service account's imagePullSecrets")
	f.BoolVar(&o.Overwrite, "overwrite", o.Overwrite, "Replace the credentials of an existing secret of the same name")
	f.StringVar(&o.DryRun, "dry-run", o.DryRun, `Must be "none", "server", or "client". With client, only print what would be sent; with server, send it without persisting it`)
	f.Lookup("dry-run").NoOptDefVal = dryRunClient
	return cmd
}

// Complete reads the name, which flags were given, the namespace and the
// prompt seam; it makes no API call and prints nothing.
func (o *CreatePullSecretOptions) Complete(cmd *cobra.Command, args []string) error {
	o.cmd, o.args = cmd, args
	if len(args) == 1 {
		o.Name = args[0]
	}
	o.serverSet = cmd.Flags().Changed("docker-server")
	o.passwordFlagSet = cmd.Flags().Changed("docker-password")
	o.dockerConfigSet = cmd.Flags().Changed("from-docker-config")

	var err error
	if o.Namespace, _, err = o.factory.Namespace(); err != nil {
		return err
	}
	if o.ReadPassword == nil {
		o.ReadPassword = terminalPrompt(o.In, o.ErrOut)
	}
	return nil
}

// terminalPrompt returns a no-echo prompt when in is a terminal, else nil.
func terminalPrompt(in io.Reader, out io.Writer) func(string) (string, error) {
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return func(prompt string) (string, error) {
		fmt.Fprint(out, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(out)
		return string(b), err
	}
}

// Validate checks the flags against each other; it reads nothing.
func (o *CreatePullSecretOptions) Validate() error {
	bad := func(format string, a ...any) error {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, a...)}
	}
	if o.cmd != nil && len(o.args) != 1 {
		return &ExitError{Code: ExitUsage, Err: usageError(o.cmd, errors.New("exactly one NAME is required, e.g. kubectl podtask create-pull-secret regcred ..."))}
	}
	if errs := validation.IsDNS1123Subdomain(o.Name); len(errs) > 0 {
		return bad("invalid secret name %q: %s", o.Name, strings.Join(errs, "; "))
	}
	switch o.DryRun {
	case dryRunNone, dryRunClient, dryRunServer:
	default:
		return bad(`invalid --dry-run %q: must be "none", "server", or "client"`, o.DryRun)
	}
	if o.ServiceAccount != "" {
		if errs := validation.IsDNS1123Subdomain(o.ServiceAccount); len(errs) > 0 {
			return bad("invalid --service-account %q: %s", o.ServiceAccount, strings.Join(errs, "; "))
		}
	}
	switch o.Output {
	case "", "yaml", "json", "name":
	default:
		return bad("--output %q: use yaml, json or name", o.Output)
	}
	login := o.Username != "" || o.passwordFlagSet || o.PasswordStdin || o.Email != ""
	sources := 0
	for _, on := range []bool{login, len(o.FromFiles) > 0, o.dockerConfigSet} {
		if on {
			sources++
		}
	}
	switch {
	case sources > 1:
		return bad("give only one of --docker-username (with its password), --from-file, or --from-docker-config")
	case len(o.FromFiles) > 0 && o.serverSet:
		return bad("--docker-server does not go with --from-file: the file names its registries")
	case o.dockerConfigSet:
		if o.FromDockerConfig == "" {
			return bad("--from-docker-config= is empty: leave out the value for the default docker config, or give a path")
		}
		if o.serverSet && strings.TrimSpace(o.Server) == "" {
			return bad("--docker-server is empty: name the registry to copy, or leave it out to copy all")
		}
	case len(o.FromFiles) > 0:
	default:
		if strings.TrimSpace(o.Server) == "" {
			return bad("--docker-server is empty: give the registry, e.g. --docker-server=registry.example.com")
		}
		if o.Username == "" {
			return bad("--docker-username is required (or use --from-docker-config or --from-file)")
		}
		if o.PasswordStdin && o.passwordFlagSet {
			return bad("give the password either with --password-stdin or with --docker-password, not both")
		}
		if o.passwordFlagSet && o.Password == "" {
			return bad("--docker-password is empty")
		}
	}
	return nil
}

// Run builds the secret, then creates or updates it and the service account.
func (o *CreatePullSecretOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	// Request and response bodies carry the secret; client-go logs them at
	// -v=8 and above. Cap verbosity for this command's API calls.
	ctx = klog.NewContext(ctx, capVerbosity(klog.FromContext(ctx), 7))

	data, err := o.secretData(ctx)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	secret := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       data,
	}
	if o.DryRun == dryRunClient {
		if err := o.printSecret(secret, "created"); err != nil {
			return err
		}
		if o.ServiceAccount != "" {
			o.printServiceAccount("patched")
		}
		return nil
	}

	if o.Client == nil {
		if o.Client, err = o.factory.CoreV1(); err != nil {
			return err
		}
	}
	if o.ServiceAccount != "" {
		// Check first, so a missing service account leaves nothing behind.
		if _, err := o.Client.ServiceAccounts(o.Namespace).Get(ctx, o.ServiceAccount, metav1.GetOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return withCode(ExitUsage, fmt.Errorf("service account %q not found in namespace %q; nothing was created", o.ServiceAccount, o.Namespace))
			}
			return withCode(ExitAPI, fmt.Errorf("cannot read service account %q: %w", o.ServiceAccount, err))
		}
	}

	saved, op, err := o.saveSecret(ctx, secret)
	if err != nil {
		return err
	}
	if err := o.printSecret(saved, op); err != nil {
		return err
	}
	if o.ServiceAccount != "" {
		changed, err := o.addToServiceAccount(ctx)
		if err != nil {
			return withCode(ExitAPI, fmt.Errorf("secret %q was saved, but adding it to service account %q failed: %w", o.Name, o.ServiceAccount, err))
		}
		if changed {
			o.printServiceAccount("patched")
		} else {
			o.printServiceAccount("unchanged")
		}
	}
	return nil
}

func (o *CreatePullSecretOptions) dryRunOpt() []string {
	if o.DryRun == dryRunServer {
		return []string{metav1.DryRunAll}
	}
	return nil
}

// saveSecret creates the secret, or with --overwrite updates it in place.
func (o *CreatePullSecretOptions) saveSecret(ctx context.Context, secret *corev1.Secret) (*corev1.Secret, string, error) {
	secrets := o.Client.Secrets(o.Namespace)
	created, err := secrets.Create(ctx, secret, metav1.CreateOptions{DryRun: o.dryRunOpt(), FieldManager: pullSecretFieldManager})
	if err == nil {
		return created, "created", nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, "", withCode(ExitAPI, fmt.Errorf("cannot create secret %q in namespace %q: %w", o.Name, o.Namespace, err))
	}
	if !o.Overwrite {
		return nil, "", withCode(ExitUsage, fmt.Errorf("secret %q already exists in namespace %q; add --overwrite to replace its credentials", o.Name, o.Namespace))
	}
	var updated *corev1.Secret
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := secrets.Get(ctx, o.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.Type != secret.Type {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("secret %q in namespace %q has type %q and a secret's type cannot change; delete it or pick another name",
				o.Name, o.Namespace, cur.Type)}
		}
		cur.Data = secret.Data
		cur.StringData = nil
		updated, err = secrets.Update(ctx, cur, metav1.UpdateOptions{DryRun: o.dryRunOpt(), FieldManager: pullSecretFieldManager})
		return err
	})
	if err != nil {
		return nil, "", withCode(ExitAPI, fmt.Errorf("cannot update secret %q in namespace %q: %w", o.Name, o.Namespace, err))
	}
	return updated, "configured", nil
}

// addToServiceAccount adds the secret to the service account's
// imagePullSecrets unless it is there already.
func (o *CreatePullSecretOptions) addToServiceAccount(ctx context.Context) (changed bool, err error) {
	sas := o.Client.ServiceAccounts(o.Namespace)
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sa, err := sas.Get(ctx, o.ServiceAccount, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if slices.ContainsFunc(sa.ImagePullSecrets, func(r corev1.LocalObjectReference) bool { return r.Name == o.Name }) {
			changed = false
			return nil
		}
		sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: o.Name})
		_, err = sas.Update(ctx, sa, metav1.UpdateOptions{DryRun: o.dryRunOpt(), FieldManager: pullSecretFieldManager})
		changed = err == nil
		return err
	})
	return changed, err
}

// secretData builds the Secret's data from whichever source was given.
func (o *CreatePullSecretOptions) secretData(ctx context.Context) (map[string][]byte, error) {
	switch {
	case len(o.FromFiles) > 0:
		return o.fromFiles()
	case o.dockerConfigSet:
		return o.fromDockerConfig(ctx)
	}
	password, err := o.password()
	if err != nil {
		return nil, err
	}
	b, err := pullsecret.Build(o.Server, o.Username, password, o.Email)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{corev1.DockerConfigJsonKey: b}, nil
}

// password reads the password from stdin, the flag, or a prompt.
func (o *CreatePullSecretOptions) password() (string, error) {
	switch {
	case o.PasswordStdin:
		b, err := io.ReadAll(o.In)
		if err != nil {
			return "", fmt.Errorf("cannot read the password from stdin: %v", err)
		}
		p := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if p == "" {
			return "", errors.New("--password-stdin read an empty password")
		}
		return p, nil
	case o.passwordFlagSet:
		fmt.Fprintln(o.ErrOut, "Warning: --docker-password on the command line can end up in shell history and process listings; prefer --password-stdin or the prompt")
		return o.Password, nil
	case o.ReadPassword != nil:
		p, err := o.ReadPassword(fmt.Sprintf("Password for %s at %s: ", o.Username, o.Server))
		if err != nil {
			return "", fmt.Errorf("cannot read the password at the prompt: %v", err)
		}
		if p == "" {
			return "", errors.New("the password typed at the prompt is empty")
		}
		return p, nil
	}
	return "", errors.New("no password given and stdin is not a terminal: pipe it in with --password-stdin")
}

// fromFiles reads --from-file sources as kubectl does for docker-registry:
// [key=]PATH, the key defaulting to .dockerconfigjson, stored as it is.
func (o *CreatePullSecretOptions) fromFiles() (map[string][]byte, error) {
	data := map[string][]byte{}
	for _, src := range o.FromFiles {
		key, path, err := parseFileSource(src)
		if err != nil {
			return nil, fmt.Errorf("--from-file=%s: %v", src, err)
		}
		if errs := validation.IsConfigMapKey(key); len(errs) > 0 {
			return nil, fmt.Errorf("--from-file=%s: %q is not a valid key name for a Secret: %s", src, key, strings.Join(errs, "; "))
		}
		if _, dup := data[key]; dup {
			return nil, fmt.Errorf("--from-file=%s: key %s is given twice", src, key)
		}
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("--from-file: cannot read %s: %v", path, unwrapPath(err))
		}
		if fi.IsDir() {
			return nil, fmt.Errorf("--from-file: %s is a directory; give the docker config file itself", path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--from-file: cannot read %s: %v", path, unwrapPath(err))
		}
		if key == corev1.DockerConfigJsonKey {
			creds, err := pullsecret.Parse(b)
			if err != nil {
				return nil, fmt.Errorf("--from-file: %s: %v", path, err)
			}
			if !hasUsable(creds) {
				fmt.Fprintf(o.ErrOut, "Warning: %s holds no usable registry credentials (logins kept by a credential helper are not in the file: use --from-docker-config)\n", path)
			}
		}
		data[key] = b
	}
	if _, ok := data[corev1.DockerConfigJsonKey]; !ok {
		return nil, fmt.Errorf("--from-file must provide the %s key, e.g. --from-file=PATH or --from-file=%s=PATH", corev1.DockerConfigJsonKey, corev1.DockerConfigJsonKey)
	}
	return data, nil
}

func hasUsable(creds map[string]pullsecret.Credential) bool {
	for _, c := range creds {
		if !c.Empty() {
			return true
		}
	}
	return false
}

// parseFileSource splits [key=]path; without a key it is .dockerconfigjson.
func parseFileSource(src string) (key, path string, err error) {
	switch n := strings.Count(src, "="); {
	case n == 0:
		return corev1.DockerConfigJsonKey, src, nil
	case n > 1:
		return "", "", errors.New("key names or file paths cannot contain '='")
	}
	key, path, _ = strings.Cut(src, "=")
	switch {
	case key == "":
		return "", "", errors.New("the key name before '=' is missing")
	case path == "":
		return "", "", errors.New("the file path after '=' is missing")
	}
	return key, path, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// fromDockerConfig copies one login (with --docker-server) or all of them.
func (o *CreatePullSecretOptions) fromDockerConfig(ctx context.Context) (map[string][]byte, error) {
	path := o.FromDockerConfig
	if path == defaultDockerConfigFlag {
		p, err := pullsecret.DefaultCLIConfigPath(o.Getenv)
		if err != nil {
			return nil, err
		}
		path = p
	}
	cfg, err := pullsecret.LoadCLIConfig(path)
	if err != nil {
		return nil, err
	}
	var creds map[string]pullsecret.Credential
	if o.serverSet {
		key, c, err := cfg.Lookup(ctx, o.Helpers, o.Server)
		if err != nil {
			return nil, err
		}
		creds = map[string]pullsecret.Credential{key: c}
	} else {
		if creds, err = cfg.All(ctx, o.Helpers); err != nil {
			return nil, err
		}
	}
	for _, s := range pullsecret.Servers(creds) {
		if c := creds[s]; c.IdentityToken != "" && c.Password == "" {
			fmt.Fprintf(o.ErrOut, "Warning: the login for %s is an identity token; it is stored as docker stores it (identitytoken), but the kubelet cannot pull with it\n", s)
		}
	}
	b, err := pullsecret.BuildAll(creds)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{corev1.DockerConfigJsonKey: b}, nil
}

// printSecret prints the secret the way kubectl create does.
func (o *CreatePullSecretOptions) printSecret(s *corev1.Secret, op string) error {
	var p printers.ResourcePrinter
	switch o.Output {
	case "yaml":
		p = &printers.YAMLPrinter{}
	case "json":
		p = &printers.JSONPrinter{}
	case "name":
		p = &printers.NamePrinter{}
	default:
		p = &printers.NamePrinter{Operation: op + o.dryRunSuffix()}
	}
	return printers.NewTypeSetter(scheme.Scheme).ToPrinter(p).PrintObj(s, o.Out)
}

// printServiceAccount reports the service account change; on stderr when
// stdout carries the secret as YAML or JSON.
func (o *CreatePullSecretOptions) printServiceAccount(op string) {
	w := o.Out
	if o.Output != "" && o.Output != "name" {
		w = o.ErrOut
	}
	fmt.Fprintf(w, "serviceaccount/%s %s%s\n", o.ServiceAccount, op, o.dryRunSuffix())
}

func (o *CreatePullSecretOptions) dryRunSuffix() string {
	switch o.DryRun {
	case dryRunClient:
		return " (dry run)"
	case dryRunServer:
		return " (server dry run)"
	}
	return ""
}

// capVerbosity returns logger with V levels above max disabled.
func capVerbosity(logger logr.Logger, max int) logr.Logger {
	sink := logger.GetSink()
	if sink == nil {
		return logger
	}
	return logr.New(cappedSink{LogSink: sink, max: max})
}

type cappedSink struct {
	logr.LogSink
	max int
}

func (s cappedSink) Init(info logr.RuntimeInfo) {
	info.CallDepth++
	s.LogSink.Init(info)
}

func (s cappedSink) Enabled(level int) bool { return level <= s.max && s.LogSink.Enabled(level) }

func (s cappedSink) WithValues(kv ...any) logr.LogSink {
	return cappedSink{LogSink: s.LogSink.WithValues(kv...), max: s.max}
}

func (s cappedSink) WithName(name string) logr.LogSink {
	return cappedSink{LogSink: s.LogSink.WithName(name), max: s.max}
}

func (s cappedSink) WithCallDepth(depth int) logr.LogSink {
	if d, ok := s.LogSink.(logr.CallDepthLogSink); ok {
		return cappedSink{LogSink: d.WithCallDepth(depth), max: s.max}
	}
	return s
}

// warnPullSecrets warns, on w, about each image pull secret of pod that does
// not exist in its namespace or is not a docker config secret.
func warnPullSecrets(ctx context.Context, c corev1client.SecretsGetter, pod *corev1.Pod, w io.Writer) {
	for _, ref := range pod.Spec.ImagePullSecrets {
		if msg := pullsecret.CheckPullSecret(ctx, c, pod.Namespace, ref.Name); msg != "" {
			fmt.Fprintln(w, "podtask: warning: "+msg)
		}
	}
}
