package render

import (
	"os"
	"testing"
)

// BenchmarkRender parses and renders the examples that use the most of
// render: secrets, config maps, volumes and templating; and a task on a
// pod template.
func BenchmarkRender(b *testing.B) {
	for _, bc := range []struct{ name, task, template string }{
		{"secrets-configmaps-volumes", "../../examples/secrets-configmaps-volumes.yaml", ""},
		{"pod-template", "../../examples/pod-template.yaml", "../../examples/templates/base-pod.yaml"},
	} {
		data, err := os.ReadFile(bc.task)
		if err != nil {
			b.Fatal(err)
		}
		var tpl *File
		if bc.template != "" {
			t, err := os.ReadFile(bc.template)
			if err != nil {
				b.Fatal(err)
			}
			tpl = &File{Path: bc.template, Data: t}
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				task, err := ParseTaskFile(bc.task, data)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Render(task, Options{RunID: "run-1", NameSuffix: "abcd1234", TemplateFile: tpl}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
