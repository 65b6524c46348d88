package dag

import (
	"fmt"
	"regexp"
	"strings"
)

// Jinja in KubernetesPodOperator's templated fields becomes podtask's Go
// templating where the meaning is the same; literal text is escaped, since
// podtask templates every string of a task.

// jinjaError is Jinja that has no podtask equivalent; expr is the part of the
// string at fault.
type jinjaError struct{ expr, msg string }

func (e *jinjaError) Error() string { return e.msg }

// escape makes s literal for podtask's templating.
func escape(s string) string {
	return strings.ReplaceAll(s, "{{", `{{"{{"}}`)
}

var (
	jinjaParam = regexp.MustCompile(`^params\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*(?:'([^']*)'|"([^"]*)")\s*\])$`)
	goIdent    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// fromJinja turns a templated string into podtask's template.
func fromJinja(s, dagID, taskID string) (string, error) {
	var b strings.Builder
	for {
		i := -1
		for _, o := range []string{"{{", "{%", "{#"} {
			if j := strings.Index(s, o); j >= 0 && (i < 0 || j < i) {
				i = j
			}
		}
		if i < 0 {
			b.WriteString(escape(s))
			return b.String(), nil
		}
		lit := s[:i]
		open := s[i : i+2]
		closer := map[string]string{"{{": "}}", "{%": "%}", "{#": "#}"}[open]
		end := strings.Index(s[i+2:], closer)
		if end < 0 {
			return "", &jinjaError{expr: s[i:], msg: fmt.Sprintf("%q is not closed (Airflow fails with TemplateSyntaxError)", open)}
		}
		inner := s[i+2 : i+2+end]
		whole := s[i : i+2+end+2]
		rest := s[i+2+end+2:]
		if strings.HasPrefix(inner, "-") {
			inner = inner[1:]
			lit = strings.TrimRight(lit, " \t\r\n")
		}
		if strings.HasSuffix(inner, "-") {
			inner = inner[:len(inner)-1]
			rest = strings.TrimLeft(rest, " \t\r\n")
		}
		b.WriteString(escape(lit))
		s = rest
		switch open {
		case "{#":
			continue
		case "{%":
			return "", &jinjaError{expr: whole, msg: fmt.Sprintf("the Jinja statement %s has no podtask equivalent; write the text it makes, or use \"{{ params.NAME }}\" and --param NAME=VALUE", oneLine(whole))}
		}
		out, err := jinjaExpr(strings.TrimSpace(inner), dagID, taskID)
		if err != nil {
			return "", &jinjaError{expr: whole, msg: fmt.Sprintf("Jinja %s %s", oneLine(whole), err.Error())}
		}
		b.WriteString(out)
	}
}

func jinjaExpr(x, dagID, taskID string) (string, error) {
	switch x {
	case "ds", "ds_nodash", "ts_nodash", "run_id":
		return "{{ ." + x + " }}", nil
	case "dag_run.run_id":
		return "{{ .run_id }}", nil
	case "ts":
		// Airflow's ts is isoformat(): +00:00 where podtask's ends in Z.
		return `{{ replace "Z" "+00:00" .ts }}`, nil
	case "dag.dag_id":
		if dagID == "" {
			return "", fmt.Errorf("names the DAG, but this task is in no DAG of the file; write the id")
		}
		return escape(dagID), nil
	case "task.task_id", "ti.task_id", "task_instance.task_id":
		return escape(taskID), nil
	}
	if m := jinjaParam.FindStringSubmatch(x); m != nil {
		name := m[1] + m[2] + m[3]
		if goIdent.MatchString(name) {
			return "{{ .params." + name + " }}", nil
		}
		return fmt.Sprintf("{{ index .params %q }}", name), nil
	}
	switch {
	case strings.HasPrefix(x, "var."):
		return "", fmt.Errorf("reads an Airflow Variable, known only when Airflow runs the task; write the value, or use \"{{ params.NAME }}\" and --param NAME=VALUE")
	case strings.HasPrefix(x, "conn."):
		return "", fmt.Errorf("reads an Airflow Connection, known only when Airflow runs the task; write the value, or use \"{{ params.NAME }}\" and --param NAME=VALUE")
	case strings.Contains(x, "xcom_pull"):
		return "", fmt.Errorf("pulls another task's XCom, known only in a DAG run; give the value with --param NAME=VALUE and \"{{ params.NAME }}\"")
	}
	return "", fmt.Errorf("has no podtask equivalent (podtask has ds, ds_nodash, ts, ts_nodash, run_id, params.NAME, dag.dag_id, task.task_id); write the value, or use \"{{ params.NAME }}\" and --param NAME=VALUE")
}
