// Render's warnings, one line each on stderr.
package plugin

import (
	"fmt"
	"io"
	"os"

	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// printWarnings prints each warning as "podtask: warning: FIELD: MESSAGE".
func printWarnings(w io.Writer, warns []render.Warning) {
	if w == nil {
		w = os.Stderr
	}
	for _, x := range warns {
		fmt.Fprintln(w, "podtask: warning: "+x.String())
	}
}
