package securityhub

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestZZDebug(t *testing.T) {
	files, _ := filepath.Glob("testdata/events/*.json")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		ev, err := ParseEvent(b)
		fmt.Println("=====", f, err)
		if err != nil {
			continue
		}
		for _, d := range Decide(ev, Filter{}, Options{}) {
			j, _ := json.MarshalIndent(d, "", "  ")
			fmt.Println(string(j))
			fmt.Println(d.Request.Description)
		}
	}
}
