package awsapi_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tocsin-dev/tocsin/internal/securityhub/awsapi"
)

const product = "arn:aws:securityhub:eu-west-1::product/aws/guardduty"

var (
	ack     = awsapi.Update{Workflow: awsapi.WorkflowNotified}
	resolve = awsapi.Update{Workflow: awsapi.WorkflowResolved}
	note    = awsapi.Update{NoteText: "looking", NoteUpdatedBy: "alice"}
)

func item(key, id, region string, u awsapi.Update) awsapi.Item {
	return awsapi.Item{Key: key, Finding: awsapi.Finding{Id: id, ProductArn: product, Region: region}, Update: u}
}

// shape is a batch reduced to what the tests compare: "region update keys…".
func shape(bs []awsapi.Batch) []string {
	var out []string
	for _, b := range bs {
		var keys []string
		for _, it := range b.Items {
			keys = append(keys, it.Key)
		}
		out = append(out, fmt.Sprintf("%s %s%s %s", b.Region, b.Update.Workflow, b.Update.NoteText, strings.Join(keys, ",")))
	}
	return out
}

func TestBatches(t *testing.T) {
	tests := []struct {
		name  string
		items []awsapi.Item
		want  []string
	}{
		{"no items make no batches", nil, nil},
		{"items with the same region and update share one batch",
			[]awsapi.Item{item("1", "a", "eu-west-1", ack), item("2", "b", "eu-west-1", ack)},
			[]string{"eu-west-1 NOTIFIED 1,2"}},
		{"a finding without a region goes to the default region",
			[]awsapi.Item{item("1", "a", "", ack), item("2", "b", "eu-central-1", ack)},
			[]string{"eu-central-1 NOTIFIED 1,2"}},
		{"findings in different regions go to different batches",
			[]awsapi.Item{item("1", "a", "us-east-1", ack), item("2", "b", "eu-west-1", ack), item("3", "c", "us-east-1", ack)},
			[]string{"us-east-1 NOTIFIED 1,3", "eu-west-1 NOTIFIED 2"}},
		{"different updates go to different batches in the order they first appear",
			[]awsapi.Item{item("1", "a", "eu-west-1", note), item("2", "b", "eu-west-1", ack), item("3", "c", "eu-west-1", note)},
			[]string{"eu-west-1 looking 1,3", "eu-west-1 NOTIFIED 2"}},
		{"the same finding with the same update is sent once but answered for every key",
			[]awsapi.Item{item("1", "a", "eu-west-1", ack), item("2", "a", "eu-west-1", ack)},
			[]string{"eu-west-1 NOTIFIED 1,2"}},
		{"a later update to the same finding comes in a later batch, so the last one lands last",
			[]awsapi.Item{
				item("1", "a", "eu-west-1", ack), item("2", "b", "eu-west-1", resolve),
				item("3", "a", "eu-west-1", resolve), item("4", "b", "eu-west-1", ack),
			},
			[]string{"eu-west-1 NOTIFIED 1", "eu-west-1 RESOLVED 2", "eu-west-1 RESOLVED 3", "eu-west-1 NOTIFIED 4"}},
		{"a finding flipping back to an earlier update is sent again after the one between",
			[]awsapi.Item{item("1", "a", "eu-west-1", ack), item("2", "a", "eu-west-1", resolve), item("3", "a", "eu-west-1", ack)},
			[]string{"eu-west-1 NOTIFIED 1", "eu-west-1 RESOLVED 2", "eu-west-1 NOTIFIED 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := shape(awsapi.Batches(tt.items, "eu-central-1"))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			again := shape(awsapi.Batches(tt.items, "eu-central-1"))
			if !reflect.DeepEqual(got, again) {
				t.Errorf("a second run gave %q", again)
			}
		})
	}
}

func TestBatchesLimit(t *testing.T) {
	tests := []struct {
		name      string
		findings  int
		repeats   int // items per finding
		wantSizes []int
	}{
		{"100 findings fit one batch", 100, 1, []int{100}},
		{"101 findings need two batches", 101, 1, []int{100, 1}},
		{"250 findings are split 100, 100, 50", 250, 1, []int{100, 100, 50}},
		{"repeated items do not count against the limit", 100, 3, []int{100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var items []awsapi.Item
			for r := range tt.repeats {
				for i := range tt.findings {
					items = append(items, item(fmt.Sprintf("%d-%d", i, r), fmt.Sprintf("f-%03d", i), "eu-west-1", ack))
				}
			}
			var sizes []int
			seen := map[string]bool{}
			for _, b := range awsapi.Batches(items, "") {
				distinct := map[string]bool{}
				for _, it := range b.Items {
					distinct[it.Finding.Id] = true
					if seen[it.Key] {
						t.Errorf("key %s in two batches", it.Key)
					}
					seen[it.Key] = true
				}
				sizes = append(sizes, len(distinct))
			}
			if !reflect.DeepEqual(sizes, tt.wantSizes) {
				t.Errorf("distinct findings per batch %v, want %v", sizes, tt.wantSizes)
			}
			if len(seen) != len(items) {
				t.Errorf("%d of %d keys in the batches", len(seen), len(items))
			}
		})
	}
}

func TestCutNote(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"a short note is kept", "on it", "on it"},
		{"a note of exactly 512 runes is kept", strings.Repeat("ü", 512), strings.Repeat("ü", 512)},
		{"a longer note is cut to 512 runes ending in an ellipsis", strings.Repeat("ü", 600), strings.Repeat("ü", 511) + "…"},
		{"invalid UTF-8 becomes the replacement character", "a\xffb", "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := awsapi.CutNote(tt.in)
			if got != tt.want {
				t.Errorf("got %q (%d runes)", got, utf8.RuneCountInString(got))
			}
			if n := utf8.RuneCountInString(got); n > awsapi.MaxNoteRunes {
				t.Errorf("%d runes", n)
			}
		})
	}
}
