package launch

// attach_stream.go: attaching to a running container's stdin (and
// terminal) through the API server, WebSocket first with a SPDY fallback, as
// kubectl attach does.

import (
	"context"
	"net/http"
	"net/url"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
)

// Attacher attaches to the running process of a container. Streams left nil
// in s are not requested; with s.Tty, stdout carries the terminal and
// stderr is not used.
type Attacher interface {
	Attach(ctx context.Context, namespace, pod, container string, s remotecommand.StreamOptions) error
}

// Attach implements Attacher for RemoteExecutor: the engine's Exec is
// used for attaching when it implements Attacher, as RemoteExecutor does.
func (r *RemoteExecutor) Attach(ctx context.Context, namespace, pod, container string, s remotecommand.StreamOptions) error {
	req := r.Client.Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("attach").
		VersionedParams(&corev1.PodAttachOptions{
			Container: container, Stdin: s.Stdin != nil, Stdout: s.Stdout != nil,
			Stderr: s.Stderr != nil && !s.Tty, TTY: s.Tty,
		}, scheme.ParameterCodec)
	exec, err := fallbackExecutor(r.Config, req.URL())
	if err != nil {
		return err
	}
	if s.Tty {
		s.Stderr = nil
	}
	return exec.StreamWithContext(ctx, s)
}

// fallbackExecutor streams to u with WebSocket, falling back to SPDY when
// the server (or a proxy on the way) cannot upgrade to WebSocket.
func fallbackExecutor(cfg *rest.Config, u *url.URL) (remotecommand.Executor, error) {
	ws, err := remotecommand.NewWebSocketExecutor(cfg, http.MethodGet, u.String())
	if err != nil {
		return nil, err
	}
	spdy, err := remotecommand.NewSPDYExecutor(cfg, http.MethodPost, u)
	if err != nil {
		return nil, err
	}
	return remotecommand.NewFallbackExecutor(ws, spdy, shouldFallBack)
}
