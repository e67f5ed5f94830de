package store_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

// TestGetMany reads 250 ids (three BatchGetItem calls, with duplicates) of which every third exists.
func TestGetMany(t *testing.T) {
	st, _ := newStore(t, store.Options{})
	ctx := ctxT(t)
	var ids []string
	for i := 0; i < 250; i++ {
		id := fmt.Sprintf("many-%d", i)
		ids = append(ids, id)
		if i%3 == 0 {
			if err := st.Put(ctx, goodCircuit(id)); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := st.GetMany(ctx, append(ids, ids[0], ids[3]))
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		c, ok := got[id]
		if ok != (i%3 == 0) || (ok && (c.ID != id || c.State != circuit.Closed || c.Version != 1)) {
			t.Fatalf("%s: got %+v present=%v", id, c, ok)
		}
	}
	if len(got) != 84 {
		t.Fatalf("%d circuits, want 84", len(got))
	}
	if _, err := st.GetMany(ctx, []string{"ok", "not ok"}); err == nil {
		t.Fatal("an invalid id was accepted")
	}
}

// TestGetManyNamesUnreadableItems: a bad item is named in the error; the good ones still come back.
func TestGetManyNamesUnreadableItems(t *testing.T) {
	st, db := newStore(t, store.Options{})
	ctx := ctxT(t)
	if err := st.Put(ctx, goodCircuit("fine")); err != nil {
		t.Fatal(err)
	}
	bad := map[string]types.AttributeValue{"pk": s("broken"), "sk": s("circuit"), "state": s("BROKEN"), "version": n("1")}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.Table()), Item: bad}); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetMany(ctx, []string{"fine", "broken", "absent"})
	if err == nil || !strings.Contains(err.Error(), `pk="broken"`) || !strings.Contains(err.Error(), `unknown circuit state "BROKEN"`) {
		t.Fatalf("err = %v", err)
	}
	if _, ok := got["fine"]; !ok || len(got) != 1 {
		t.Fatalf("got %v", got)
	}
}
