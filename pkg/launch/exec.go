// Exec in a container through the API server (WebSocket, SPDY fallback).

package launch

import (
	"context"
	"io"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/streaming/pkg/httpstream"
)

// Executor runs a command in a container and copies its output.
type Executor interface {
	Exec(ctx context.Context, namespace, pod, container string, cmd []string, stdout, stderr io.Writer) error
}

// RemoteExecutor execs through the API server, WebSocket first with a SPDY
// fallback, as kubectl exec does.
type RemoteExecutor struct {
	Config *rest.Config
	Client rest.Interface // the core/v1 REST client
}

// Exec implements Executor.
func (r *RemoteExecutor) Exec(ctx context.Context, namespace, pod, container string, cmd []string, stdout, stderr io.Writer) error {
	req := r.Client.Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: container, Command: cmd, Stdout: true, Stderr: true,
		}, scheme.ParameterCodec)
	exec, err := fallbackExecutor(r.Config, req.URL())
	if err != nil {
		return err
	}
	return exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: stdout, Stderr: stderr})
}

// shouldFallBack says whether a failed WebSocket exec is tried again with
// SPDY: when the upgrade failed or a proxy stood in the way, but not when
// the API server refused the request itself (forbidden, unauthorized, not
// found). SPDY would be refused the same way, and would say so only as text,
// where the WebSocket's refusal carries the API's status.
func shouldFallBack(err error) bool {
	if status, ok := apiStatus(err); ok {
		switch status.Status().Code {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
			return false
		}
	}
	return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
}
