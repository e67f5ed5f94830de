package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/breakerbox/breakerbox/extension/client"
)

// Item is what the inventory service answers.
type Item struct {
	SKU     string
	InStock bool
}

// checkStock is an OrderProcessor's call to the inventory service, guarded by the breaker: when the
// circuit is open it does not call at all and falls back to accepting the order as back-ordered.
func checkStock(ctx context.Context, bb *client.Client, call func(ctx context.Context) (Item, error)) (Item, string) {
	var item Item
	err := bb.Do(ctx, "inventory", func(ctx context.Context) error {
		var err error
		item, err = call(ctx)
		return err
	})
	switch {
	case errors.Is(err, client.ErrOpen):
		return Item{SKU: "sku-42"}, "inventory circuit open: order accepted as back-ordered"
	case err != nil:
		return Item{SKU: "sku-42"}, "inventory failed (" + err.Error() + "): order accepted as back-ordered"
	}
	return item, "in stock"
}

// In a function with the extension's layer, client.New() finds the extension on
// 127.0.0.1:$BREAKERBOX_PORT with the function's AWS_SESSION_TOKEN. Here a stand-in extension
// answers first CLOSED, then OPEN.
func Example() {
	state := "CLOSED"
	ext := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/circuits/inventory/acquire" {
			fmt.Fprintf(w, `{"allowed":%t,"state":%q,"stale":false,"reason":""}`, state == "CLOSED", state)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted) // outcomes
	}))
	defer ext.Close()

	bb, err := client.New(client.WithBaseURL(ext.URL))
	if err != nil {
		fmt.Println(err) // a setting the client cannot use, e.g. BREAKERBOX_FAIL_MODE=clsoed
		return
	}
	inventory := func(context.Context) (Item, error) { return Item{SKU: "sku-42", InStock: true}, nil }

	_, msg := checkStock(context.Background(), bb, inventory)
	fmt.Println(msg)
	state = "OPEN"
	_, msg = checkStock(context.Background(), bb, inventory)
	fmt.Println(msg)
	// Output:
	// in stock
	// inventory circuit open: order accepted as back-ordered
}
