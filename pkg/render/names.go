package render

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

const (
	maxNameLen   = 63
	suffixLen    = 8
	suffixAlphas = "abcdefghijklmnopqrstuvwxyz0123456789"
)

// SanitizeName makes s a DNS-1123 label as KubernetesPodOperator does:
// lower case, every run of other characters becomes one '-', no leading or
// trailing '-' or '.', at most max characters. It may return "".
func SanitizeName(s string, max int) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > max {
		out = strings.TrimRight(out[:max], "-")
	}
	return out
}

// PodName is the pod's name for task name name: sanitised, and with
// "-" + suffix appended when suffix is not empty, 63 characters at most.
func PodName(name, suffix string) string {
	if suffix == "" {
		return SanitizeName(name, maxNameLen)
	}
	return SanitizeName(name, maxNameLen-len(suffix)-1) + "-" + suffix
}

// RandomSuffix returns n random characters of [a-z0-9].
func RandomSuffix(n int) string {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	for i := range buf {
		buf[i] = suffixAlphas[int(buf[i])%len(suffixAlphas)]
	}
	return string(buf)
}

// NewRunID returns a fresh, label-safe run id: the UTC time and six random
// characters, e.g. "20261129t053642-k3j9x2".
func NewRunID() string {
	return strings.ToLower(time.Now().UTC().Format("20060102T150405")) + "-" + RandomSuffix(6)
}

// LabelValue makes s a valid label value: characters outside [A-Za-z0-9._-]
// become '-', it starts and ends with an alphanumeric, and a value longer
// than 63 characters keeps its first 52 and ends with '-' and 10 hex digits
// of the SHA-256 of the original, so distinct long values stay distinct.
func LabelValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	out := strings.Trim(string(b), "._-")
	if s == "" || (out != "" && len(s) <= maxNameLen) {
		return out
	}
	sum := sha256.Sum256([]byte(s))
	h := hex.EncodeToString(sum[:])[:10]
	head := out
	if len(head) > 52 {
		head = head[:52]
	}
	head = strings.TrimRight(head, "._-")
	if head == "" {
		return h
	}
	return head + "-" + h
}
