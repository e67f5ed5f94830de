// Package clienttest is an in-memory stand-in for the breakerbox extension, for the tests of a
// function that uses extension/client: no extension, no port, no DynamoDB. The client it gives is the
// real client, so Do, Acquire, Report and State behave as in production; only the answers come from
// memory. A test forces a circuit OPEN or CLOSED and reads the calls the client made:
//
//	ext := clienttest.New()
//	bb, _ := ext.Client()
//	ext.ForceOpen("inventory")
//	err := bb.Do(ctx, "inventory", call)      // errors.Is(err, client.ErrOpen); call did not run
//	ext.Calls()                               // [{acquire inventory ...}]
//
// Each allowed acquire hands out a call name (Call.Name, "call-1", "call-2", ...), and Outcomes
// shows the name each reported outcome brought back (Outcome.Call).
//
// It uses the standard library only.
package clienttest
