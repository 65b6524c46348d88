// Files and artifacts: the pod parts that carry local files into the task
// and its output back. Files (task field "files", --file) go into an
// emptyDir filled by an init container that waits for the upload the engine
// streams into it; artifacts (task field "artifacts", --artifact) are
// folders of the base container backed by an emptyDir that a small sidecar
// also mounts, so that they can be read after the base container ended.
package render

import (
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// The files and artifacts contract, shared with the engine.
const (
	// FilesDir is where files go in the base container by default.
	FilesDir = "/podtask/files"
	// FilesVolumeName is the emptyDir the files are uploaded into.
	FilesVolumeName = "podtask-files"
	// FilesInitName is the init container that waits for the upload.
	FilesInitName = "podtask-files"
	// FilesUploadRoot is where the init container mounts the volume.
	FilesUploadRoot = "/podtask-upload"
	// FilesReadyFIFO, written by the upload once checked, lets the init
	// container exit.
	FilesReadyFIFO = "/tmp/podtask-files-ready"
	// FilesWaitSeconds bounds how long the init container waits for the
	// upload: a pod whose upload never comes fails instead of waiting forever.
	FilesWaitSeconds = 3600
	// FilesSumsName is the checksum file, last in the upload, removed once
	// checked (the engine's upload command does it).
	FilesSumsName = ".podtask-sha256sums"

	// ArtifactsVolumeName is the emptyDir behind the artifact folders.
	ArtifactsVolumeName = "podtask-artifacts"
	// ArtifactsSidecarName is the container that keeps them readable.
	ArtifactsSidecarName = "podtask-artifacts"
	// ArtifactsRoot is where the sidecar mounts the volume; artifact i is
	// ArtifactsRoot/i.
	ArtifactsRoot = "/podtask-artifacts"
	// ArtifactsStopFIFO, written to, lets the sidecar exit.
	ArtifactsStopFIFO = "/tmp/podtask-artifacts-stop"
)

// FilesInitCommand is the init container's command: it waits until the
// upload writes "ok" to FilesReadyFIFO, for at most FilesWaitSeconds.
var FilesInitCommand = []string{"sh", "-c",
	"trap 'exit 1' TERM INT; rm -f " + FilesReadyFIFO + "; mkfifo " + FilesReadyFIFO +
		" && exec 3<>" + FilesReadyFIFO + " && read -t " + strconv.Itoa(FilesWaitSeconds) + " r <&3 && [ \"$r\" = ok ] && exit 0; " +
		"echo 'podtask: the files were not uploaded' >&2; exit 1"}

// ArtifactsSidecarCommand keeps the sidecar up until ArtifactsStopFIFO is
// written to or it is terminated.
var ArtifactsSidecarCommand = []string{"sh", "-c",
	"trap 'exit 0' TERM INT; rm -f " + ArtifactsStopFIFO + "; mkfifo " + ArtifactsStopFIFO +
		" && { read _ < " + ArtifactsStopFIFO + " & wait $!; }; exit 0"}

// ArtifactsStopCommand, exec'd in the sidecar, lets it exit 0.
var ArtifactsStopCommand = []string{"sh", "-c", "echo > " + ArtifactsStopFIFO}

// ArtifactsReadCommand, exec'd in the sidecar (or a running container),
// prints the number of content bytes of dir on a line, then a tar stream
// of dir's content. dir must exist.
func ArtifactsReadCommand(dir string) []string {
	q := shellQuote(dir)
	return []string{"sh", "-c", "cd " + q + " || exit 1; " +
		"find . -type f -exec stat -c %s {} + | awk '{s+=$1} END {print s+0}' && exec tar -cf - ."}
}

// FileSpec is one entry of "files": a local file or folder (Local) and where
// it goes in the base container (Path: empty for FilesDir/<basename of
// Local>, relative for under FilesDir, absolute as given). In a task file it
// is {local: ..., path: ...} or the flag's form "LOCAL[:PATH]".
type FileSpec struct {
	Local string `json:"local"`
	Path  string `json:"path,omitempty"`
}

// ParseFileSpec reads "LOCAL[:PATH]"; the pod path has no colon, so the
// last colon splits.
func ParseFileSpec(s string) (FileSpec, error) {
	local, p := s, ""
	if i := strings.LastIndex(s, ":"); i >= 0 {
		local, p = s[:i], s[i+1:]
		if p == "" {
			return FileSpec{}, fmt.Errorf("%q: the PATH after ':' is empty", s)
		}
	}
	if local == "" {
		return FileSpec{}, fmt.Errorf("%q: want LOCAL[:PATH]", s)
	}
	return FileSpec{Local: local, Path: p}, nil
}

// UnmarshalJSON accepts the object and the "LOCAL[:PATH]" form.
func (f *FileSpec) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := ParseFileSpec(s)
		*f = v
		return err
	}
	type plain FileSpec
	return strictUnmarshal(b, (*plain)(f))
}

// ArtifactSpec is one entry of "artifacts": a folder of the base container
// (Path, absolute) and the local folder it is copied to (Local; empty for
// ./artifacts/<pod>/<basename of Path>). In a task file it is {path: ...,
// local: ...} or the flag's form "PATH[:LOCAL]".
type ArtifactSpec struct {
	Path  string `json:"path"`
	Local string `json:"local,omitempty"`
}

// ParseArtifactSpec reads "PATH[:LOCAL]"; the pod path has no colon, so
// the first colon splits.
func ParseArtifactSpec(s string) (ArtifactSpec, error) {
	p, local, _ := strings.Cut(s, ":")
	if p == "" {
		return ArtifactSpec{}, fmt.Errorf("%q: want PATH[:LOCAL]", s)
	}
	return ArtifactSpec{Path: p, Local: local}, nil
}

// UnmarshalJSON accepts the object and the "PATH[:LOCAL]" form.
func (a *ArtifactSpec) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := ParseArtifactSpec(s)
		*a = v
		return err
	}
	type plain ArtifactSpec
	return strictUnmarshal(b, (*plain)(a))
}

// FileTarget is where one FileSpec lands.
type FileTarget struct {
	Local string // as given
	Path  string // absolute, in the base container
	Entry string // its name in the upload volume: "files/..." or "abs/<i>"
}

// FileTargets resolves the task's files to where they go, refusing paths
// that climb out of FilesDir, and two files in one place.
func FileTargets(files []FileSpec) ([]FileTarget, error) {
	out := make([]FileTarget, 0, len(files))
	seen := map[string]bool{}
	for i, f := range files {
		field := fmt.Sprintf("files[%d]", i)
		if f.Local == "" {
			return nil, fieldErr(field+".local", "is empty")
		}
		p := f.Path
		if p == "" {
			base := path.Base(strings.TrimRight(strings.ReplaceAll(f.Local, `\`, "/"), "/"))
			if base == "." || base == ".." || base == "/" || base == "" {
				return nil, fieldErr(field, "%q has no name to go by; give a PATH (--file %s:PATH)", f.Local, f.Local)
			}
			p = base
		}
		if strings.ContainsAny(p, "\n\x00") {
			return nil, fieldErr(field+".path", "%q holds a newline or NUL", p)
		}
		var t FileTarget
		if path.IsAbs(p) {
			t.Path = path.Clean(p)
		} else {
			for _, part := range strings.Split(p, "/") {
				if part == ".." {
					return nil, fieldErr(field+".path", "%q climbs out of %s; use an absolute path", p, FilesDir)
				}
			}
			t.Path = path.Join(FilesDir, p)
		}
		switch {
		case t.Path == FilesDir:
			return nil, fieldErr(field+".path", "%q is the files folder itself; name a file or folder in it", p)
		case strings.HasPrefix(t.Path, FilesDir+"/"):
			t.Entry = "files/" + strings.TrimPrefix(t.Path, FilesDir+"/")
		case t.Path == "/" || t.Path == XComMountPath || strings.HasPrefix(t.Path, XComMountPath+"/"):
			return nil, fieldErr(field+".path", "%q cannot take files; choose another path", p)
		default:
			t.Entry = "abs/" + strconv.Itoa(i)
		}
		if seen[t.Path] {
			return nil, fieldErr(field+".path", "%s is the target of another file too", t.Path)
		}
		seen[t.Path] = true
		t.Local = f.Local
		out = append(out, t)
	}
	return out, nil
}

// ArtifactTarget is one artifact folder.
type ArtifactTarget struct {
	Path    string // absolute, in the base container
	Sidecar string // the same folder, in the sidecar
	Local   string // as given; empty for the default
}

// ArtifactTargets resolves the task's artifacts.
func ArtifactTargets(arts []ArtifactSpec) ([]ArtifactTarget, error) {
	out := make([]ArtifactTarget, 0, len(arts))
	seen := map[string]bool{}
	for i, a := range arts {
		field := fmt.Sprintf("artifacts[%d].path", i)
		if !path.IsAbs(a.Path) {
			return nil, fieldErr(field, "%q must be an absolute path in the base container", a.Path)
		}
		p := path.Clean(a.Path)
		if p == "/" || p == XComMountPath || p == FilesDir || strings.ContainsAny(p, "\n\x00") {
			return nil, fieldErr(field, "%q cannot hold artifacts; choose another folder", a.Path)
		}
		if seen[p] {
			return nil, fieldErr(field, "%s is named twice", p)
		}
		seen[p] = true
		out = append(out, ArtifactTarget{Path: p, Sidecar: ArtifactsRoot + "/" + strconv.Itoa(i), Local: a.Local})
	}
	return out, nil
}

// addFilesAndArtifacts adds the volumes, mounts, the init container and
// the sidecar the task's files and artifacts need.
func addFilesAndArtifacts(pod *corev1.Pod, t *Task) error {
	if len(t.Files) == 0 && len(t.Artifacts) == 0 {
		return nil
	}
	base := findContainer(pod.Spec.Containers, t.BaseContainerName)
	if base == nil {
		return nil // reported by validatePod
	}
	image := t.XComSidecarImage
	if image == "" {
		image = DefaultXComSidecarImage
	}
	small := corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("1m"),
		corev1.ResourceMemory: resource.MustParse("10Mi"),
	}}
	for _, v := range pod.Spec.Volumes {
		if v.Name == FilesVolumeName || v.Name == ArtifactsVolumeName {
			return fieldErr("volumes", "a volume is named %q, which files and artifacts need; rename it", v.Name)
		}
	}
	if len(t.Files) > 0 {
		targets, err := FileTargets(t.Files)
		if err != nil {
			return err
		}
		if findContainer(pod.Spec.InitContainers, FilesInitName) != nil {
			return fieldErr("init_containers", "an init container is already named %q, which files need", FilesInitName)
		}
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: FilesVolumeName,
			VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		// It runs first, so that the other init containers see the files too.
		pod.Spec.InitContainers = append([]corev1.Container{{
			Name:            FilesInitName,
			Image:           image,
			Command:         append([]string(nil), FilesInitCommand...),
			ImagePullPolicy: corev1.PullIfNotPresent,
			VolumeMounts:    []corev1.VolumeMount{{Name: FilesVolumeName, MountPath: FilesUploadRoot}},
			Resources:       small,
		}}, pod.Spec.InitContainers...)
		relative := false
		for _, tg := range targets {
			if strings.HasPrefix(tg.Entry, "files/") {
				relative = true
				continue
			}
			base.VolumeMounts = append(base.VolumeMounts, corev1.VolumeMount{Name: FilesVolumeName, MountPath: tg.Path, SubPath: tg.Entry})
		}
		if relative {
			base.VolumeMounts = append(base.VolumeMounts, corev1.VolumeMount{Name: FilesVolumeName, MountPath: FilesDir, SubPath: "files"})
		}
	}
	if len(t.Artifacts) > 0 {
		targets, err := ArtifactTargets(t.Artifacts)
		if err != nil {
			return err
		}
		if findContainer(pod.Spec.Containers, ArtifactsSidecarName) != nil {
			return fieldErr("containers", "a container is already named %q, the artifacts sidecar's name", ArtifactsSidecarName)
		}
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: ArtifactsVolumeName,
			VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		for i, tg := range targets {
			base.VolumeMounts = append(base.VolumeMounts, corev1.VolumeMount{Name: ArtifactsVolumeName, MountPath: tg.Path, SubPath: strconv.Itoa(i)})
		}
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{
			Name:            ArtifactsSidecarName,
			Image:           image,
			Command:         append([]string(nil), ArtifactsSidecarCommand...),
			ImagePullPolicy: corev1.PullIfNotPresent,
			VolumeMounts:    []corev1.VolumeMount{{Name: ArtifactsVolumeName, MountPath: ArtifactsRoot, ReadOnly: true}},
			Resources:       small,
		})
	}
	return nil
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
