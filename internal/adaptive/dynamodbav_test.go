package adaptive

// This test alone imports the AWS SDK: the package stays standard-library only, but the ventilator
// stores State with attributevalue, so the round trip is checked with the real codec.

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
)

func TestStateRoundTripsThroughAttributeValue(t *testing.T) {
	for _, s := range replayedStates(t) {
		item, err := attributevalue.MarshalMap(s)
		if err != nil {
			t.Fatalf("MarshalMap(%+v) error = %v", s, err)
		}
		var back State
		if err := attributevalue.UnmarshalMap(item, &back); err != nil {
			t.Fatalf("UnmarshalMap error = %v", err)
		}
		if !reflect.DeepEqual(back, s) {
			t.Fatalf("round trip changed the state:\n got %+v\nwant %+v", back, s)
		}
	}
	item, _ := attributevalue.MarshalMap(State{Policy: PolicyAIMD, BatchSize: 2, UpdatedAt: 5})
	for _, name := range []string{"policy", "batchSize", "floorFailures", "tripped", "updatedAt", "pending"} {
		if _, ok := item[name]; !ok {
			t.Errorf("attribute %q missing from %v", name, item)
		}
	}
}
