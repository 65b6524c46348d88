package plugin

// Flags for files in and out of a task: --file and --artifact (task fields
// files and artifacts, shared by render and run) and run's --overwrite; the
// local checks made before anything is created.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// fileFlags are --file and --artifact.
type fileFlags struct {
	files, artifacts []string
}

func (f *fileFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.files, "file", nil, "Put a local file or folder into the base container before it starts: LOCAL[:PATH] (repeatable); default PATH "+render.FilesDir+"/<name>, relative PATHs under it")
	fs.StringArrayVar(&f.artifacts, "artifact", nil, "Copy this folder of the base container back after it ended, failed or not: PATH[:LOCAL] (repeatable); default LOCAL ./"+launch.ArtifactsDir+"/<pod>/<name>")
}

// apply adds the flags to the task file's lists; a task file's relative
// local paths are relative to the task file.
func (f *fileFlags) apply(fs *pflag.FlagSet, t *render.Task, taskFile string) error {
	if taskFile != "" && taskFile != "-" {
		dir := filepath.Dir(taskFile)
		for i := range t.Files {
			if l := t.Files[i].Local; l != "" && !filepath.IsAbs(l) {
				t.Files[i].Local = filepath.Join(dir, l)
			}
		}
		for i := range t.Artifacts {
			if l := t.Artifacts[i].Local; l != "" && !filepath.IsAbs(l) {
				t.Artifacts[i].Local = filepath.Join(dir, l)
			}
		}
	}
	for _, s := range f.files {
		spec, err := render.ParseFileSpec(s)
		if err != nil {
			return fmt.Errorf("--file %w", err)
		}
		t.Files = append(t.Files, spec)
	}
	for _, s := range f.artifacts {
		spec, err := render.ParseArtifactSpec(s)
		if err != nil {
			return fmt.Errorf("--artifact %w", err)
		}
		t.Artifacts = append(t.Artifacts, spec)
	}
	return nil
}

// transferFlags are run's flags about local files.
type transferFlags struct {
	overwrite bool
}

func (f *transferFlags) addFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&f.overwrite, "overwrite", false, "Let --artifact replace existing local files")
}

// plan checks the local side of the task's files and artifacts, before
// anything is created: every file to send exists and is readable, folders
// hold no link leaving them, artifact folders are folders.
func (f *transferFlags) plan(spec *render.Task) (*launch.Transfers, error) {
	if len(spec.Files) == 0 && len(spec.Artifacts) == 0 {
		return nil, nil
	}
	tr := &launch.Transfers{Overwrite: f.overwrite}
	if len(spec.Files) > 0 {
		targets, err := render.FileTargets(spec.Files)
		if err != nil {
			return nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("--file: %w", err)}
		}
		if tr.Upload, err = launch.PlanUpload(launch.TargetsOf(targets)); err != nil {
			return nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("--file: %w", err)}
		}
	}
	arts, err := render.ArtifactTargets(spec.Artifacts)
	if err != nil {
		return nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("--artifact: %w", err)}
	}
	for _, a := range arts {
		if a.Local != "" {
			if err := checkLocalFolder(a.Local); err != nil {
				return nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("--artifact %s: %w", a.Path, err)}
			}
		}
		tr.Artifacts = append(tr.Artifacts, launch.Artifact{Path: a.Path, Sidecar: a.Sidecar, Local: a.Local})
	}
	return tr, nil
}

// checkLocalFolder accepts a folder or a path that does not exist yet.
func checkLocalFolder(p string) error {
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s exists and is not a folder", p)
	}
	return nil
}
