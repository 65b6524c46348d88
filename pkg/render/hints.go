// Error hints for task files written from a KubernetesPodOperator call: a
// parameter podtask does not take says what to use instead, and a common
// misplacement of a Kubernetes object says where it belongs.
package render

import "regexp"

// kpoParams are KubernetesPodOperator parameters with no task-file field,
// and what to do instead.
var kpoParams = map[string]string{
	"task_id":                                "the task is named by name",
	"kubernetes_conn_id":                     "the cluster is the kubeconfig's: use --kubeconfig and --context",
	"in_cluster":                             "the in-cluster config is used by itself when there is no kubeconfig",
	"cluster_context":                        "the cluster is the kubeconfig's: use --context",
	"config_file":                            "the cluster is the kubeconfig's: use --kubeconfig",
	"is_delete_operator_pod":                 "KubernetesPodOperator replaced it by on_finish_action: write on_finish_action: delete_pod (or keep_pod)",
	"pod_template_dict":                      "save the dict as a Pod manifest and give its path as pod_template_file",
	"get_logs":                               "run always streams the base container's log",
	"container_logs":                         "use the flag --container-logs NAME|all",
	"init_container_logs":                    "use the flag --init-logs",
	"log_events_on_failure":                  "run always prints the pod's events when it fails to start",
	"log_pod_spec_on_failure":                "use kubectl podtask render to see the pod",
	"container_name_log_prefix_enabled":      "run prints the base container's log as it is",
	"log_formatter":                          "run prints the base container's log as it is",
	"reattach_on_restart":                    "use kubectl podtask attach to follow a running task again",
	"deferrable":                             "run watches the pod; there is nothing to defer",
	"poll_interval":                          "run watches the pod; there is nothing to poll",
	"logging_interval":                       "run watches the pod; there is nothing to poll",
	"trigger_kwargs":                         "run watches the pod; there is no trigger",
	"startup_check_interval_seconds":         "run watches the pod; there is nothing to poll",
	"base_container_status_polling_interval": "run watches the pod; there is nothing to poll",
	"callbacks":                              "there are no callbacks; run's -o json summary reports the outcome",
	"progress_callback":                      "there are no callbacks; run's -o json summary reports the outcome",
	"xcom_sidecar_container_image":           "it is a connection setting in Airflow; here write xcom_sidecar_image",
}

var weightedUnderRequired = regexp.MustCompile(`(podAffinity|podAntiAffinity)\.requiredDuringSchedulingIgnoredDuringExecution\[\d+\]\.(weight|podAffinityTerm)$`)

// unknownFieldMsg is the message for an unknown field of a task file at
// path (the generic one when there is no better).
func unknownFieldMsg(path string) string {
	if hint, ok := kpoParams[path]; ok {
		return "is a KubernetesPodOperator parameter that podtask does not take: " + hint
	}
	if m := weightedUnderRequired.FindStringSubmatch(path); m != nil {
		return "unknown field: a weighted term (weight, podAffinityTerm) belongs under " + m[1] +
			".preferredDuringSchedulingIgnoredDuringExecution; a required term is the podAffinityTerm itself (labelSelector, topologyKey)"
	}
	return "unknown field (see docs/task-file.md for the schema)"
}
