package store_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breakerbox/breakerbox/internal/store"
)

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }

// TestBadItemsGiveClearErrors writes items that a buggy or foreign writer could leave behind and
// checks that reading them fails with an error naming the item and the attribute, never a panic and
// never a silent CLOSED.
func TestBadItemsGiveClearErrors(t *testing.T) {
	st, db := newStore(t, store.Options{})
	ctx := ctxT(t)
	cases := []struct {
		id   string
		item map[string]types.AttributeValue
		want []string
	}{
		{"unknown-state", map[string]types.AttributeValue{"state": s("BROKEN"), "version": n("1")}, []string{`pk="unknown-state"`, `"state"`, `unknown circuit state "BROKEN"`}},
		{"missing-state", map[string]types.AttributeValue{"version": n("1")}, []string{`pk="missing-state"`, `"state": missing`}},
		{"missing-version", map[string]types.AttributeValue{"state": s("OPEN")}, []string{`"version": missing`}},
		{"version-as-string", map[string]types.AttributeValue{"state": s("OPEN"), "version": s("7")}, []string{`"version": want a number (N), got S`}},
		{"state-as-number", map[string]types.AttributeValue{"state": n("1"), "version": n("1")}, []string{`"state": want a string (S), got N`}},
		{"bad-time", map[string]types.AttributeValue{"state": s("OPEN"), "version": n("2"), "retryAt": n("1.5")}, []string{`"retryAt": want a whole number`}},
		{"bad-override", map[string]types.AttributeValue{"state": s("OPEN"), "version": n("2"), "override": s("MAYBE")}, []string{`unknown override "MAYBE"`}},
		{"bad-probes", map[string]types.AttributeValue{"state": s("HALF_OPEN"), "version": n("2"), "probes": s("x")}, []string{`"probes": want a map (M), got S`}},
		{"bad id!", map[string]types.AttributeValue{"state": s("OPEN"), "version": n("2")}, []string{`invalid circuit id "bad id!"`}},
	}
	for _, tc := range cases {
		item := map[string]types.AttributeValue{"pk": s(tc.id), "sk": s("circuit")}
		for k, v := range tc.item {
			item[k] = v
		}
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: strp(st.Table()), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			if strings.Contains(tc.id, "!") {
				return // an invalid id cannot even be asked for; List covers it below
			}
			c, err := st.Get(ctx, tc.id)
			if err == nil {
				t.Fatalf("read %+v, want an error", c)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	// List returns what it can read and names every item it cannot.
	if err := st.Put(ctx, goodCircuit("fine")); err != nil {
		t.Fatal(err)
	}
	got, err := st.List(ctx)
	if len(got) != 1 || got[0].ID != "fine" {
		t.Fatalf("List returned %+v, want only the good circuit", got)
	}
	if err == nil || !strings.Contains(err.Error(), "9 unreadable circuit items") || !strings.Contains(err.Error(), `invalid circuit id "bad id!"`) {
		t.Fatalf("List error = %v", err)
	}
}

func strp(v string) *string { return &v }
