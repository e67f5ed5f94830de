package orders

import (
	"encoding/json"
	"strings"
	"testing"
)

// The runtime decodes the event into Order: a misspelt or unknown field is an error naming it, not
// an order read with that field left out (or matched case-insensitively, as encoding/json does).
func TestOrderInputIsStrict(t *testing.T) {
	var o Order
	if err := json.Unmarshal([]byte(`{"orderId":"o-1","sku":"A-1","quantity":2}`), &o); err != nil || o != (Order{OrderID: "o-1", SKU: "A-1", Quantity: 2}) {
		t.Fatalf("valid order: %+v, %v", o, err)
	}
	for in, want := range map[string]string{
		`{"orderId":"o-1","sku":"A-1","qty":2}`:               `unknown field "qty"`,
		`{"orderId":"o-1","sku":"A-1","quantity":2,"prio":1}`: `unknown field "prio"`,
		`{"OrderId":"o-1","sku":"A-1","quantity":2}`:          `unknown field "OrderId"`,
		`{"orderId":"o-1","sku":"A-1","quantity":"2"}`:        `quantity`,
		`["o-1"]`: `JSON object`,
		`{"orderId":"o-1","sku":"A-1","quantity":2,"quantity":3}`: `field "quantity" is given twice`,
	} {
		var o Order
		err := json.Unmarshal([]byte(in), &o)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %s", in, err, want)
		}
	}
}
