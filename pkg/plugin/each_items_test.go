package plugin

import (
	"strings"
	"testing"
)

func TestReadItemsJSONLinesAndCSV(t *testing.T) {
	got, err := readItems("items", strings.NewReader("{\"a\":\"x\",\"n\":3}\n\n{\"a\":\"y\",\"n\":{\"k\":1}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0]["a"] != "x" || got[0]["n"] != "3" || got[1]["n"] != `{"k":1}` {
		t.Fatalf("JSON Lines: %v", got)
	}
	got, err = readItems("items", strings.NewReader("a,b\nx,\"1,2\"\ny,3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0]["b"] != "1,2" || got[1]["a"] != "y" {
		t.Fatalf("CSV: %v", got)
	}
}

func TestReadItemsBadInput(t *testing.T) {
	for name, in := range map[string]string{
		"empty":          "",
		"header only":    "a,b\n",
		"broken json":    "{\"a\":1}\n{\"a\":\n",
		"repeated col":   "a,a\n1,2\n",
		"ragged csv row": "a,b\n1\n",
	} {
		if _, err := readItems("items", strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), "--each items") {
			t.Errorf("%s: err %v, want one naming --each items", name, err)
		}
	}
}
