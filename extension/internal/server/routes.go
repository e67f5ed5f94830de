package server

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
)

// endpoints lists the API, for the answer to a request that matches none of it.
const endpoints = "GET /healthz, GET /v1/stats, GET /v1/circuits, GET /v1/circuits/{id}, POST /v1/circuits/{id}/acquire, POST /v1/circuits/{id}/outcomes"

// maxShownPath bounds a path echoed in an error message: a request line may be up to 1 MB long.
const maxShownPath = 200

// routedMethods are the methods the API routes: only these can be allowed on a path.
var routedMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost}

// routePath is the path chi routes req on: the escaped one when it differs.
func routePath(req *http.Request) string {
	if req.URL.RawPath != "" {
		return req.URL.RawPath
	}
	return req.URL.Path
}

// allowedMethods lists the methods mux routes on path, asking the router itself so the answer
// cannot drift from the routes: POST /v1/circuits/acquire names the circuit "acquire", whose
// path takes GET and HEAD, not POST.
func allowedMethods(mux chi.Routes, path string) []string {
	var allow []string
	for _, m := range routedMethods {
		if mux.Match(chi.NewRouteContext(), m, path) {
			allow = append(allow, m)
		}
	}
	return allow
}

// methodNotAllowed answers 405 with the path's methods in Allow; a method chi does not know at all
// ("FOO") comes here whatever the path, and is answered 404 on a path that is not an endpoint.
func methodNotAllowed(w http.ResponseWriter, req *http.Request, mux chi.Routes) {
	allow := allowedMethods(mux, routePath(req))
	if len(allow) == 0 {
		notFound(w, req, mux)
		return
	}
	list := strings.Join(allow, ", ")
	w.Header().Set("Allow", list)
	msg := req.Method + " is not allowed on " + truncate(req.URL.Path, maxShownPath) + "; use " + list
	if req.Method == http.MethodPost {
		if last := req.URL.Path[strings.LastIndexByte(req.URL.Path, '/')+1:]; last == "acquire" || last == "outcomes" {
			msg += " (that path is the circuit named " + `"` + last + `"` + "; to " + last + ", POST /v1/circuits/{id}/" + last + ")"
		}
	}
	writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", msg)
}

// notFound answers 404 for a path that is no endpoint, naming the endpoint meant when the path is
// one but for a trailing slash or a doubled one, and listing the API otherwise.
func notFound(w http.ResponseWriter, req *http.Request, mux chi.Routes) {
	msg := "no such endpoint: " + truncate(req.Method, 20) + " " + truncate(req.URL.Path, maxShownPath)
	if fixed := tidySlashes(routePath(req)); fixed != routePath(req) && len(allowedMethods(mux, fixed)) > 0 {
		msg += "; did you mean " + truncate(fixed, maxShownPath) + " (without the extra /)?"
	} else {
		msg += "; the endpoints are " + endpoints
	}
	writeError(w, http.StatusNotFound, "unknown_endpoint", msg)
}

// tidySlashes drops a trailing slash and doubled slashes from p ("/v1//circuits/x/" → "/v1/circuits/x").
func tidySlashes(p string) string {
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	return p
}
