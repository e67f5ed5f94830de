// Package extensionsapi is a client of the AWS Lambda Extensions API (2020-01-01): register, the
// event long poll (next), init/error and exit/error. An external extension registers, then loops on
// Next until it receives SHUTDOWN.
//
// Every call but Next has a client timeout: Next blocks for as long as the sandbox has no event (and
// across freezes), so only its context may end it, as AWS documents. Errors wrap the cause and, for
// an answer that is not a success, carry the API's status and errorType in an *APIError.
package extensionsapi
