package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// auditEntry is the part of an audit.k8s.io/v1 Event the benchmark reads.
type auditEntry struct {
	Stage      string `json:"stage"`
	UserAgent  string `json:"userAgent"`
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	ObjectRef  *struct {
		Resource    string `json:"resource"`
		Name        string `json:"name"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	Received time.Time `json:"requestReceivedTimestamp"`
}

// auditOffset is the audit log's current size: entries written later start there.
func auditOffset(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// readAudit reads the entries written since offset (from the start if the
// log was rotated meanwhile).
func readAudit(path string, offset int64) ([]auditEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() >= offset {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			return nil, err
		}
	}
	var out []auditEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e auditEntry
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			out = append(out, e)
		}
	}
	return out, sc.Err()
}

// requestCount is the requests one client made about one pod.
type requestCount struct {
	Total        int
	ByVerb       map[string]int
	Unattributed int // same client and window, naming no pod of ours
}

// countRequests counts ResponseComplete entries (one per request) whose
// user agent starts with uaPrefix, received within [from, to], and naming
// pod (objectRef.name or the request URI, e.g. a watch's field selector).
// Entries of the same client in the window that name none of others are
// counted as unattributed.
func countRequests(entries []auditEntry, uaPrefix, pod string, others []string, from, to time.Time) requestCount {
	c := requestCount{ByVerb: map[string]int{}}
	for _, e := range entries {
		if e.Stage != "ResponseComplete" || !strings.HasPrefix(e.UserAgent, uaPrefix) {
			continue
		}
		if e.Received.Before(from) || e.Received.After(to) {
			continue
		}
		if mentions(e, pod) {
			c.Total++
			k := e.Verb
			if e.ObjectRef != nil {
				k += " " + e.ObjectRef.Resource
				if e.ObjectRef.Subresource != "" {
					k += "/" + e.ObjectRef.Subresource
				}
			}
			c.ByVerb[k]++
			continue
		}
		ours := false
		for _, o := range others {
			ours = ours || mentions(e, o)
		}
		if !ours {
			c.Unattributed++
		}
	}
	return c
}

func mentions(e auditEntry, pod string) bool {
	if e.ObjectRef != nil && e.ObjectRef.Name == pod {
		return true
	}
	return strings.Contains(e.RequestURI, "/"+pod+"/") || strings.HasSuffix(e.RequestURI, "/"+pod) ||
		strings.Contains(e.RequestURI, "%3D"+pod+"&") || strings.HasSuffix(e.RequestURI, "%3D"+pod) ||
		strings.Contains(e.RequestURI, "%3D"+pod+"%2C") || strings.Contains(e.RequestURI, "/"+pod+"?")
}

func (c requestCount) verbs() string {
	keys := make([]string, 0, len(c.ByVerb))
	for k := range c.ByVerb {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+" ×"+itoa(c.ByVerb[k]))
	}
	return strings.Join(parts, ", ")
}
