// The items of a mapped run (run --each): JSON Lines (one object a line) or
// CSV with a header row, from a file or stdin; each item is a set of params.

package plugin

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// maxItems bounds a mapped run.
const maxItems = 100000

// readItems parses the items in data, named name in errors. JSON Lines is
// recognised by a first non-blank character '{', else the data is CSV.
// A JSON value that is not a string becomes its JSON text, as --param
// KEY=VALUE would have been given it.
func readItems(name string, r io.Reader) ([]map[string]string, error) {
	data, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("--each %s: %w", name, err)
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	var items []map[string]string
	if len(trimmed) > 0 && trimmed[0] == '{' {
		items, err = readJSONLines(name, data)
	} else {
		items, err = readCSV(name, data)
	}
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("--each %s: no items (want JSON Lines, one object a line, or CSV with a header row)", name)
	}
	if len(items) > maxItems {
		return nil, fmt.Errorf("--each %s: %d items, more than %d: split the run", name, len(items), maxItems)
	}
	return items, nil
}

func readJSONLines(name string, data []byte) ([]map[string]string, error) {
	var items []map[string]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		dec := json.NewDecoder(bytes.NewReader(text))
		if err := dec.Decode(&obj); err != nil || dec.More() || obj == nil {
			return nil, fmt.Errorf("--each %s:%d: not a JSON object on one line (JSON Lines): %s", name, line, jsonErr(err))
		}
		item := make(map[string]string, len(obj))
		for k, v := range obj {
			if k == "" {
				return nil, fmt.Errorf("--each %s:%d: an empty parameter name", name, line)
			}
			var s string
			if json.Unmarshal(v, &s) == nil {
				item[k] = s
			} else {
				item[k] = string(v)
			}
		}
		items = append(items, item)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--each %s:%d: %w", name, line+1, err)
	}
	return items, nil
}

func jsonErr(err error) string {
	if err == nil {
		return "more than one value"
	}
	return err.Error()
}

func readCSV(name string, data []byte) ([]map[string]string, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--each %s: not JSON Lines or CSV: %w", name, err)
	}
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if h == "" || seen[h] {
			return nil, fmt.Errorf("--each %s:1: column %d of the header row is empty or repeated: name every column once", name, i+1)
		}
		seen[h] = true
		header[i] = h
	}
	var items []map[string]string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("--each %s: %w", name, err)
		}
		item := make(map[string]string, len(header))
		for i, h := range header {
			item[h] = rec[i]
		}
		items = append(items, item)
	}
	return items, nil
}

// paramNames are the sorted keys of an item, for messages.
func paramNames(item map[string]string) []string {
	out := make([]string, 0, len(item))
	for k := range item {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
