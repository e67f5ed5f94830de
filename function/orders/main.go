// Command orders is breakerbox's synchronous example: ask the extension, call the inventory
// service, report, and fall back to DOWNSTREAM_UNAVAILABLE when the circuit is open or the call
// fails. Input {"orderId","sku","quantity"} (any other field is an error naming it); environment INVENTORY_URL (required),
// INVENTORY_CIRCUIT (default inventory), INVENTORY_TIMEOUT (default 3s), and the extension
// client's BREAKERBOX_PORT and BREAKERBOX_FAIL_MODE.
//
// Build: GOOS=linux go build -tags lambda.norpc -o bootstrap ./function/orders
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/breakerbox/breakerbox/extension/client"
	"github.com/breakerbox/breakerbox/function/orders/internal/orders"
	"github.com/breakerbox/breakerbox/internal/lambdainit"
)

func main() {
	log := lambdainit.Logger(os.Stderr, os.LookupEnv, "orders")
	cfg, err := orders.LoadConfig(os.LookupEnv)
	if err != nil {
		lambdainit.Fail(log, err)
	}
	breaker, err := client.New(client.WithFailure(orders.IsDownstreamFailure))
	if err != nil {
		lambdainit.Fail(log, err)
	}
	lambda.Start(orders.New(cfg, breaker, nil, log).Handle)
}
