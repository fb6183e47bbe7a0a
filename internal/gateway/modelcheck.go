// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

// The model the gateway authorizes (the per-key models list, the budget's
// price) must be the model every upstream reads, or the request is
// refused. Upstreams read bodies in many ways: Go's encoding/json matches
// keys case-insensitively and takes the last duplicate, Python's json and
// serde read keys exactly, llama.cpp and Ollama parse any body as JSON
// whatever its Content-Type, FastAPI parses a body without Content-Type as
// JSON, forms carry the model in a field. So the gateway reads every body
// it can (JSON, multipart and urlencoded forms) and refuses the ones that
// could be read two ways: a key in two spellings, a field twice.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/openai"
)

// apiRoute is the path p as the routes table knows it: without a trailing
// slash and in lower case. Express and ASP.NET match paths that way (and
// FastAPI redirects a trailing slash), so a variant of a model-routed path
// is that route for the upstream, and must be for the gateway: its body
// must name a model the key may use.
func apiRoute(p string) string {
	return strings.ToLower(strings.TrimSuffix(p, "/"))
}

// What a Content-Type says about the body.
const (
	bodyJSON = iota // none, application/json, any .../json or ...+json
	bodyMultipart
	bodyURLEncoded
	bodyOther
)

// bodyKind classifies the Content-Type ct without allocating.
func bodyKind(ct string) int {
	mt := ct
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = strings.TrimSpace(mt)
	switch {
	case mt == "", strings.EqualFold(mt, "application/json"):
		return bodyJSON
	case strings.EqualFold(mt, "multipart/form-data"):
		return bodyMultipart
	case strings.EqualFold(mt, "application/x-www-form-urlencoded"):
		return bodyURLEncoded
	}
	// text/json, application/vnd.api+json, application/merge-patch+json:
	// FastAPI and Flask parse "+json" as JSON.
	if i := strings.IndexByte(mt, '/'); i >= 0 {
		sub := mt[i+1:]
		if strings.EqualFold(sub, "json") || len(sub) > 5 && strings.EqualFold(sub[len(sub)-5:], "+json") {
			return bodyJSON
		}
	}
	return bodyOther
}

// strictBody reports whether an encoded body (Content-Encoding), which the
// gateway does not read but an upstream that decodes it could, is refused
// for key: it is when the key's models list or budget depends on the
// model. A body that is neither JSON nor a form names no model for any
// upstream: the key's paths decide (config.Key.AllowsPath).
func strictBody(key *config.Key) bool {
	return key != nil && (len(key.Models) > 0 || key.HasBudget())
}

// bodyEnvelope reads the envelope of an API request's body and refuses a
// body that upstreams could read differently from the gateway. routed says
// the route takes a JSON body (chat completions and the like): it is read
// as JSON whatever its Content-Type, as before. On other routes, a JSON
// body (by its Content-Type, or without one, or any body that is valid
// JSON) is read as JSON; a multipart or urlencoded form by its "model"
// field (form is then true: the body cannot be rewritten for an alias or a
// fallback); anything else names no model. An encoded body is refused on
// routed paths, and when strict (see strictBody).
func bodyEnvelope(r *http.Request, body []byte, routed, strict bool) (e envelope, form bool, aerr *apiError) {
	if len(r.Header["Content-Type"]) > 1 {
		return e, false, errBadRequest("invalid_content_type",
			"the request has more than one Content-Type header: servers differ on which one counts, so send one")
	}
	if len(body) == 0 && !routed {
		return e, false, nil
	}
	ct := r.Header.Get("Content-Type")
	kind := bodyKind(ct)
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		if routed || strict {
			return e, false, &apiError{status: http.StatusUnsupportedMediaType, typ: openai.TypeInvalidRequest,
				code: "unsupported_content_encoding", message: "the request body is encoded (Content-Encoding: " + quote(ce) +
					"): the gateway must read the model in it, so send it unencoded"}
		}
		return e, false, nil
	}
	// A form whose body is valid JSON is read as JSON all the same:
	// llama.cpp and Ollama parse the body as JSON whatever it says it is.
	if !routed && kind != bodyJSON && !json.Valid(body) {
		switch kind {
		case bodyMultipart:
			e, aerr = multipartEnvelope(body, ct)
			return e, true, aerr
		case bodyURLEncoded:
			e, aerr = urlencodedEnvelope(body)
			return e, true, aerr
		}
		return e, false, nil // no upstream reads a model in it either
	}
	if strings.IndexByte(ct, ';') >= 0 && !utf8Charset(ct) {
		return e, false, &apiError{status: http.StatusUnsupportedMediaType, typ: openai.TypeInvalidRequest,
			code: "unsupported_charset", message: "JSON bodies must be UTF-8 (RFC 8259): the Content-Type " + quote(ct) +
				" names another charset; send it as UTF-8, without a charset or with charset=utf-8"}
	}
	e, aerr = jsonEnvelope(body)
	return e, false, aerr
}

// utf8Charset reports whether the Content-Type ct names no charset, or
// UTF-8. An upstream that honours another charset would read other
// characters than the gateway did (in UTF-7, "+AG0-odel" is "model").
func utf8Charset(ct string) bool {
	_, params, err := mime.ParseMediaType(ct)
	if err != nil {
		// Malformed parameters: refuse one that may name a charset.
		return !strings.Contains(strings.ToLower(ct), "charset")
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8") || strings.EqualFold(cs, "utf8")
}

// jsonEnvelope reads the envelope of a JSON body (readEnvelope), and
// refuses a body that is not valid UTF-8 JSON, or whose envelope servers
// could read differently.
func jsonEnvelope(body []byte) (envelope, *apiError) {
	// encoding/json reads invalid UTF-8 as U+FFFD: the gateway would then
	// route and authorize a model name other than the bytes the upstream
	// gets. JSON text must be UTF-8 (RFC 8259), so refuse it.
	if !utf8.Valid(body) {
		return envelope{}, errBadRequest("invalid_json", "request body is not valid JSON: it is not valid UTF-8")
	}
	e, err := readEnvelope(body)
	switch {
	case err != nil:
		return e, errBadRequest("invalid_json", "request body is not valid JSON: "+jsonErrorText(err))
	case e.folded != "":
		return e, ambiguousKey(e.folded)
	case e.dup == "model":
		return e, errBadRequest("duplicate_model", "request body names \"model\" more than once: send it once")
	case e.dup != "":
		return e, errBadRequest("duplicate_key", "request body has the key "+quote(e.dup)+
			" more than once: servers differ on which one counts, so send it once")
	}
	return e, nil
}

// ambiguousKey is the refusal of a body with the key k, an envelope key in
// another case.
func ambiguousKey(k string) *apiError {
	want := "model"
	for _, name := range [...]string{"stream", "stream_options"} {
		if strings.EqualFold(k, name) {
			want = name
		}
	}
	return errBadRequest("ambiguous_key", "request body has the key "+quote(k)+", which some servers read as "+
		quote(want)+" and others ignore: spell it "+quote(want)+", in lower case, and only once")
}

// maxFormParts bounds the parts of a multipart body, as
// multipart.Reader.ReadForm does by default.
const maxFormParts = 1000

// maxFormModel bounds the model field of a form: a model name.
const maxFormModel = 1 << 10

// multipartEnvelope reads the "model" field of a multipart/form-data body
// (audio transcriptions, image edits, file uploads). Parts are read raw,
// and a part another parser could name differently is refused: a
// Content-Disposition that is missing, repeated, malformed, not form-data,
// or with an RFC 2231 name* (RFC 7578 section 4.2 forbids it; Go and
// Python resolve it differently), a model field that is encoded
// (Content-Transfer-Encoding) or not UTF-8, a "Model" in another case, a
// second model.
func multipartEnvelope(body []byte, ct string) (e envelope, aerr *apiError) {
	bad := func(msg string) (envelope, *apiError) {
		return envelope{}, errBadRequest("invalid_form", "request body is not a valid multipart/form-data form: "+msg)
	}
	_, params, err := mime.ParseMediaType(ct)
	if err != nil || params["boundary"] == "" {
		return bad("its Content-Type has no boundary parameter")
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for n := 0; ; n++ {
		p, err := mr.NextRawPart()
		if err == io.EOF { // the final boundary; not a wrapped EOF (no boundary at all)
			break
		}
		if err != nil {
			return bad(err.Error())
		}
		if n == maxFormParts {
			return bad("it has more than " + itoa(maxFormParts) + " parts")
		}
		cd := p.Header["Content-Disposition"]
		if len(cd) != 1 {
			return bad("a part has no Content-Disposition header, or more than one")
		}
		disp, dp, err := mime.ParseMediaType(cd[0])
		if err != nil || disp != "form-data" || extendedName(cd[0]) {
			return bad("a part's Content-Disposition " + quote(cd[0]) + " is not form-data with one plain name (RFC 7578)")
		}
		switch name := dp["name"]; {
		case name == "model":
		case strings.EqualFold(name, "model"):
			return envelope{}, ambiguousKey(name)
		default:
			continue
		}
		if te := p.Header.Get("Content-Transfer-Encoding"); te != "" && !strings.EqualFold(te, "binary") &&
			!strings.EqualFold(te, "8bit") && !strings.EqualFold(te, "7bit") {
			return bad("the model field has Content-Transfer-Encoding " + quote(te) + ": send it as plain text")
		}
		v, err := io.ReadAll(io.LimitReader(p, maxFormModel+1))
		if err != nil {
			return bad(err.Error())
		}
		if len(v) > maxFormModel || !utf8.Valid(v) {
			return bad("the model field is not a model name (UTF-8, at most " + formatBytes(maxFormModel) + ")")
		}
		if e.models++; e.models > 1 {
			return e, errBadRequest("duplicate_model", "the form has more than one \"model\" field: send it once")
		}
		e.Model = string(v)
	}
	return e, nil
}

// extendedName reports whether the Content-Disposition v has a name*
// parameter (RFC 2231), which mime.ParseMediaType merges into name.
func extendedName(v string) bool {
	lv := strings.ToLower(v)
	for i := strings.Index(lv, "name*"); i >= 0; {
		j := i - 1
		for j >= 0 && (lv[j] == ' ' || lv[j] == '\t') {
			j--
		}
		if j >= 0 && lv[j] == ';' {
			return true
		}
		k := strings.Index(lv[i+1:], "name*")
		if k < 0 {
			break
		}
		i += 1 + k
	}
	return false
}

// urlencodedEnvelope reads the "model" field of an
// application/x-www-form-urlencoded body.
func urlencodedEnvelope(body []byte) (e envelope, aerr *apiError) {
	vs, err := url.ParseQuery(string(body))
	if err != nil {
		return e, errBadRequest("invalid_form", "request body is not a valid urlencoded form: "+err.Error())
	}
	for k, v := range vs {
		switch {
		case k == "model" && len(v) > 1:
			return e, errBadRequest("duplicate_model", "the form has more than one \"model\" field: send it once")
		case k == "model":
			e.models, e.Model = 1, v[0]
		case strings.EqualFold(k, "model"):
			return envelope{}, ambiguousKey(k)
		}
	}
	if !utf8.ValidString(e.Model) {
		return e, errBadRequest("invalid_form", "the form's model field is not valid UTF-8")
	}
	return e, nil
}

// queryModel refuses a request whose query names a model (in a "model"
// parameter, in any case: some servers read "Model" too) that key may not
// use. Some APIs take the model there (the Realtime API's
// POST /v1/realtime?model=...).
func queryModel(key *config.Key, rawQuery string) *apiError {
	if key == nil || len(key.Models) == 0 || !containsFold(rawQuery, "model") {
		return nil
	}
	vs, err := url.ParseQuery(rawQuery)
	if err != nil {
		// Servers split a query differently (on ";" too, or not): refuse
		// rather than guess which model they read.
		return errBadRequest("invalid_query", "the query string is malformed ("+err.Error()+
			") and may name a model: this API key is limited to some models, so send a well-formed query")
	}
	for k, v := range vs {
		if !strings.EqualFold(k, "model") {
			continue
		}
		for _, m := range v {
			if !keyAllows(key, m) {
				return &apiError{status: http.StatusForbidden, typ: openai.TypePermission, code: "model_not_allowed",
					message: "this API key may not use model " + quote(m) + " (named in the query string)"}
			}
		}
	}
	return nil
}

// containsFold reports whether s contains sub (ASCII, lower case) in any
// case, or percent-encoded.
func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), sub) || strings.IndexByte(s, '%') >= 0
}

// jsonErrorText makes a json error readable without echoing the body.
func jsonErrorText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error() + " at byte " + itoa(int(se.Offset))
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "field " + quote(te.Field) + " must be a " + te.Type.String() + ", not a JSON " + te.Value
	}
	return err.Error()
}
