package pullsecret

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// CheckPullSecret returns "" when the named secret exists in namespace with
// a type the kubelet reads as registry credentials
// (kubernetes.io/dockerconfigjson, or the legacy kubernetes.io/dockercfg),
// and otherwise a one-line warning saying what is wrong and how to fix it.
// It never fails: a secret it cannot read (Forbidden, unreachable) gives a
// warning that it could not be checked.
func CheckPullSecret(ctx context.Context, c corev1client.SecretsGetter, namespace, name string) (warning string) {
	s, err := c.Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Sprintf("image pull secret %q does not exist in namespace %q; create it with: kubectl podtask create-pull-secret %s -n %s --docker-server=REGISTRY --docker-username=USER --password-stdin",
			name, namespace, name, namespace)
	case apierrors.IsForbidden(err):
		return fmt.Sprintf("image pull secret %q in namespace %q could not be checked: not allowed to read secrets", name, namespace)
	case err != nil:
		reason := string(apierrors.ReasonForError(err))
		if reason == "" {
			reason = err.Error()
		}
		return fmt.Sprintf("image pull secret %q in namespace %q could not be checked: %s", name, namespace, reason)
	}
	switch s.Type {
	case corev1.SecretTypeDockerConfigJson, corev1.SecretTypeDockercfg:
		return ""
	}
	return fmt.Sprintf("image pull secret %q in namespace %q has type %q, not %s: the kubelet will not use it to pull images",
		name, namespace, s.Type, corev1.SecretTypeDockerConfigJson)
}
