package check_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestUnreadableCircuitFailsOnlyItsTarget: a circuit item the store cannot read is reported for its
// target (and fails the invocation so it shows in the Errors metric) while the others are checked.
func TestUnreadableCircuitFailsOnlyItsTarget(t *testing.T) {
	r := newRig(t, nil)
	svc := newServer(t, ok)
	item := map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "broken"}, "sk": &types.AttributeValueMemberS{Value: "circuit"},
		"state": &types.AttributeValueMemberS{Value: "BROKEN"}, "version": &types.AttributeValueMemberN{Value: "1"},
	}
	if _, err := r.db.PutItem(ctxT(t), &dynamodb.PutItemInput{TableName: aws.String(r.st.Table()), Item: item}); err != nil {
		t.Fatal(err)
	}
	in := `{"targets":[` + target("fine", svc.URL, "") + `,` + target("broken", svc.URL, "") + `]}`
	sum, err := r.h.Handle(ctxT(t), json.RawMessage(in))
	if err == nil || !strings.Contains(err.Error(), "1 of 2 targets could not be recorded") || !strings.Contains(err.Error(), `unknown circuit state "BROKEN"`) {
		t.Fatalf("err = %v", err)
	}
	res := byID(sum)
	if !res["fine"].Probed || !res["fine"].OK || res["broken"].Probed || res["broken"].StoreError == "" || sum.Errors != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if svc.hits.Load() != 1 {
		t.Fatalf("%d probes, want 1: a circuit that cannot be read is not probed", svc.hits.Load())
	}
}
