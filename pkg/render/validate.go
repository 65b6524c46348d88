package render

import (
	"fmt"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

func validateName(field, v string, check func(string) []string) error {
	if v == "" {
		return nil
	}
	if errs := check(v); len(errs) > 0 {
		return fieldErr(field, "%q is not valid: %s", v, errs[0])
	}
	return nil
}

func oneOf[T ~string](field string, v T, allowed ...T) error {
	if v == "" {
		return nil
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	s := make([]string, len(allowed))
	for i, a := range allowed {
		s[i] = string(a)
	}
	return fieldErr(field, "must be one of %s, got %q", strings.Join(s, ", "), string(v))
}

func validateLabels(field string, m map[string]string, values bool) error {
	for k, v := range m {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return fieldErr(field, "key %q is not valid: %s", k, errs[0])
		}
		if values {
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				return fieldErr(field+"."+k, "value %q is not valid: %s", v, errs[0])
			}
		}
	}
	return nil
}

func validateImage(field, image string) error {
	if image != strings.TrimSpace(image) || strings.ContainsAny(image, " \t\n") {
		return fieldErr(field, "%q must not contain whitespace", image)
	}
	return nil
}

// validateTask checks the task's own fields after templating.
func validateTask(t *Task) error {
	checks := []error{
		validateName("base_container_name", t.BaseContainerName, validation.IsDNS1123Label),
		validateImage("image", t.Image),
		validateImage("xcom_sidecar_image", t.XComSidecarImage),
		oneOf("image_pull_policy", t.ImagePullPolicy, corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever),
		oneOf("termination_message_policy", t.TerminationMessagePolicy, corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError),
		oneOf("dns_policy", t.DNSPolicy, corev1.DNSClusterFirst, corev1.DNSClusterFirstWithHostNet, corev1.DNSDefault, corev1.DNSNone),
		validateName("service_account_name", t.ServiceAccountName, validation.IsDNS1123Subdomain),
		validateName("hostname", t.Hostname, validation.IsDNS1123Label),
		validateName("subdomain", t.Subdomain, validation.IsDNS1123Label),
		validateName("priority_class_name", t.PriorityClassName, validation.IsDNS1123Subdomain),
		validateLabels("labels", t.Labels, true),
		validateLabels("annotations", t.Annotations, false),
		validateLabels("node_selector", t.NodeSelector, true),
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	if t.DNSPolicy == corev1.DNSNone && (t.DNSConfig == nil || len(t.DNSConfig.Nameservers) == 0) {
		return fieldErr("dns_config.nameservers", "is required when dns_policy is None")
	}
	if t.ActiveDeadlineSeconds != nil && *t.ActiveDeadlineSeconds <= 0 {
		return fieldErr("active_deadline_seconds", "must be positive, got %d", *t.ActiveDeadlineSeconds)
	}
	if t.TerminationGracePeriod != nil && *t.TerminationGracePeriod < 0 {
		return fieldErr("termination_grace_period", "must not be negative, got %d", *t.TerminationGracePeriod)
	}
	for i, e := range t.EnvVars {
		if err := validateEnvName(fmt.Sprintf("env_vars[%d].name", i), e.Name); err != nil {
			return err
		}
		if e.Value != "" && e.ValueFrom != nil {
			return fieldErr(fmt.Sprintf("env_vars[%d]", i), "sets both value and valueFrom; keep one")
		}
	}
	for i, e := range t.EnvFrom {
		f := fmt.Sprintf("env_from[%d]", i)
		switch {
		case (e.ConfigMapRef == nil) == (e.SecretRef == nil):
			return fieldErr(f, "needs exactly one of configMapRef and secretRef")
		case e.ConfigMapRef != nil:
			if err := validateRefName(f+".configMapRef.name", e.ConfigMapRef.Name); err != nil {
				return err
			}
		default:
			if err := validateRefName(f+".secretRef.name", e.SecretRef.Name); err != nil {
				return err
			}
		}
	}
	for i, cm := range t.ConfigMaps {
		if err := validateRefName(fmt.Sprintf("configmaps[%d]", i), cm); err != nil {
			return err
		}
	}
	for i, s := range t.ImagePullSecrets {
		if err := validateRefName(fmt.Sprintf("image_pull_secrets[%d]", i), s); err != nil {
			return err
		}
	}
	for i, s := range t.Secrets {
		if err := validateSecret(fmt.Sprintf("secrets[%d]", i), s); err != nil {
			return err
		}
	}
	for i, p := range t.Ports {
		f := fmt.Sprintf("ports[%d]", i)
		if p.ContainerPort < 1 || p.ContainerPort > 65535 {
			return fieldErr(f+".containerPort", "must be between 1 and 65535, got %d", p.ContainerPort)
		}
		if err := oneOf(f+".protocol", p.Protocol, corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP); err != nil {
			return err
		}
		if p.Name != "" {
			if errs := validation.IsValidPortName(p.Name); len(errs) > 0 {
				return fieldErr(f+".name", "%q is not valid: %s", p.Name, errs[0])
			}
		}
	}
	for i, m := range t.VolumeMounts {
		if err := validateMount(fmt.Sprintf("volume_mounts[%d]", i), m); err != nil {
			return err
		}
	}
	for i, e := range t.PodRuntimeInfoEnvs {
		f := fmt.Sprintf("pod_runtime_info_envs[%d]", i)
		if err := validateEnvName(f+".name", e.Name); err != nil {
			return err
		}
		if (e.FieldPath == "") == (e.ValueFrom == nil) {
			return fieldErr(f+".field_path", "give field_path (e.g. status.podIP, metadata.name) or valueFrom, one of them")
		}
	}
	for i, tol := range t.Tolerations {
		f := fmt.Sprintf("tolerations[%d]", i)
		if err := oneOf(f+".operator", tol.Operator, corev1.TolerationOpEqual, corev1.TolerationOpExists); err != nil {
			return err
		}
		if err := oneOf(f+".effect", tol.Effect, corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute); err != nil {
			return err
		}
		if tol.Operator == corev1.TolerationOpExists && tol.Value != "" {
			return fieldErr(f+".value", "must be empty when operator is Exists")
		}
		if tol.Key == "" && tol.Operator != corev1.TolerationOpExists {
			return fieldErr(f+".key", "is required unless operator is Exists")
		}
	}
	for i, h := range t.HostAliases {
		if net.ParseIP(h.IP) == nil {
			return fieldErr(fmt.Sprintf("host_aliases[%d].ip", i), "%q is not an IP address", h.IP)
		}
	}
	for i, c := range t.InitContainers {
		f := fmt.Sprintf("init_containers[%d]", i)
		if err := validateName(f+".name", c.Name, validation.IsDNS1123Label); err != nil {
			return err
		}
		if c.Name == "" {
			return fieldErr(f+".name", "is required")
		}
		if c.Image == "" {
			return fieldErr(f+".image", "is required")
		}
	}
	for i, v := range t.Volumes {
		f := fmt.Sprintf("volumes[%d].name", i)
		if v.Name == "" {
			return fieldErr(f, "is required")
		}
		if err := validateName(f, v.Name, validation.IsDNS1123Label); err != nil {
			return err
		}
	}
	for k := range t.Params {
		if k == "" || strings.ContainsAny(k, " \t.{}") {
			return fieldErr("params", "key %q is not valid: use letters, digits, '_' and '-'", k)
		}
	}
	return nil
}

func validateEnvName(field, name string) error {
	if name == "" {
		return fieldErr(field, "is required")
	}
	if errs := validation.IsEnvVarName(name); len(errs) > 0 {
		return fieldErr(field, "%q is not a valid environment variable name", name)
	}
	return nil
}

func validateRefName(field, name string) error {
	if name == "" {
		return fieldErr(field, "a name is required")
	}
	return validateName(field, name, validation.IsDNS1123Subdomain)
}

func validateMount(f string, m corev1.VolumeMount) error {
	if m.Name == "" {
		return fieldErr(f+".name", "is required")
	}
	if !strings.HasPrefix(m.MountPath, "/") {
		return fieldErr(f+".mountPath", "must be an absolute path, got %q", m.MountPath)
	}
	return nil
}

func validateSecret(f string, s Secret) error {
	if err := validateRefName(f+".secret", s.Secret); err != nil {
		return err
	}
	switch s.DeployType {
	case "env":
		if len(s.Items) > 0 {
			return fieldErr(f+".items", "only apply to deploy_type volume")
		}
		if s.Key == "" {
			if s.DeployTarget != "" {
				return fieldErr(f+".key", "is required with deploy_target %q (without both, every key becomes an env var; KubernetesPodOperator would ignore deploy_target and load every key)", s.DeployTarget)
			}
			return nil
		}
		return validateEnvName(f+".deploy_target", s.DeployTarget)
	case "volume":
		if !strings.HasPrefix(s.DeployTarget, "/") {
			return fieldErr(f+".deploy_target", "must be the absolute path to mount the secret at, got %q", s.DeployTarget)
		}
		for i, it := range s.Items {
			if it.Key == "" || it.Path == "" {
				return fieldErr(fmt.Sprintf("%s.items[%d]", f, i), "needs key and path")
			}
		}
		return nil
	default:
		return fieldErr(f+".deploy_type", "must be env or volume, got %q", s.DeployType)
	}
}

// validatePod checks the merged pod: what only the whole can tell.
func validatePod(pod *corev1.Pod, baseName string) error {
	base := findContainer(pod.Spec.Containers, baseName)
	if base == nil {
		return fieldErr("base_container_name", "no container is named %q", baseName)
	}
	if base.Image == "" {
		return fieldErr("image", "is required (give --image, image: in the task file, or a template with one)")
	}
	if err := validateImage("image", base.Image); err != nil {
		return err
	}
	names := map[string]string{}
	for i, c := range pod.Spec.InitContainers {
		if prev, ok := names[c.Name]; ok {
			return fieldErr(fmt.Sprintf("init_containers[%d].name", i), "%q is used twice (also %s)", c.Name, prev)
		}
		names[c.Name] = fmt.Sprintf("init container %d", i)
	}
	for i, c := range pod.Spec.Containers {
		f := fmt.Sprintf("containers[%d]", i)
		if c.Name == "" {
			return fieldErr(f+".name", "is required")
		}
		if err := validateName(f+".name", c.Name, validation.IsDNS1123Label); err != nil {
			return err
		}
		if c.Image == "" {
			return fieldErr(f+".image", "container %q has no image", c.Name)
		}
		if prev, ok := names[c.Name]; ok {
			return fieldErr(f+".name", "%q is used twice (also %s)", c.Name, prev)
		}
		names[c.Name] = "container " + fmt.Sprint(i)
	}
	vols := map[string]bool{}
	for i, v := range pod.Spec.Volumes {
		if vols[v.Name] {
			return fieldErr(fmt.Sprintf("volumes[%d].name", i), "volume %q is defined twice", v.Name)
		}
		vols[v.Name] = true
	}
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			for _, m := range c.VolumeMounts {
				if !vols[m.Name] {
					return fieldErr("volume_mounts", "container %q mounts volume %q, which no volume defines", c.Name, m.Name)
				}
			}
		}
	}
	return nil
}
