package e2e

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hubkeeper/hubkeeper/api"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/secrets"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/internal/temporalclient"
	"github.com/hubkeeper/hubkeeper/internal/temporaltest"
	"github.com/jackc/pgx/v5"
	commonpb "go.temporal.io/api/common/v1"
	"go.yaml.in/yaml/v3"
)

// rowCounts counts the rows of every table.
func (s *stack) rowCounts() map[string]int {
	s.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) < 10 {
		s.t.Fatalf("listing tables: %v (%d)", err, len(tables))
	}
	counts := map[string]int{}
	for _, table := range tables {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
			s.t.Fatal(err)
		}
		counts[table] = n
	}
	return counts
}

func TestBadInput(t *testing.T) {
	s := newStack(t, seed.Company(emailDomain, 5, 4))
	dir := s.createDirectory(s.oktaDirectoryBody(oktaToken))
	other, err := s.store.CreateWorkspace(context.Background(), "Other company")
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _, err := s.store.CreateAPIKey(context.Background(), store.NewAPIKey{WorkspaceID: other.ID, Name: "other", Scope: store.ScopeAdmin, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	okta := func(fields string) string {
		return `{"type":"okta","name":"Okta","okta":{"base_url":"` + s.oktaURL + `","api_token":"t"` + fields + `}}`
	}
	const missing = "00000000-0000-4000-8000-000000000000"
	cases := []badRequest{
		{"MalformedJSON", "POST", "/v1/directories", s.apiKey, `{"type":`, 400},
		{"EmptyBody", "POST", "/v1/directories", s.apiKey, ``, 400},
		{"ArrayBody", "POST", "/v1/directories", s.apiKey, `[]`, 400},
		{"TrailingData", "POST", "/v1/directories", s.apiKey, okta("") + `{}`, 400},
		{"UnknownField", "POST", "/v1/directories", s.apiKey, `{"type":"okta","name":"x","extra":1}`, 400},
		{"UnknownNestedField", "POST", "/v1/directories", s.apiKey, okta(`,"org":"x"`), 400},
		{"WrongTypeName", "POST", "/v1/directories", s.apiKey, `{"type":"okta","name":5}`, 400},
		{"WrongTypeObject", "POST", "/v1/directories", s.apiKey, `{"type":"okta","name":"x","okta":"https://x"}`, 400},
		{"MissingName", "POST", "/v1/directories", s.apiKey, `{"type":"okta","okta":{"base_url":"https://a.okta.com","api_token":"t"}}`, 400},
		{"MissingType", "POST", "/v1/directories", s.apiKey, `{"name":"x"}`, 400},
		{"UnknownDirectoryType", "POST", "/v1/directories", s.apiKey, `{"type":"ldap","name":"x"}`, 400},
		{"MissingToken", "POST", "/v1/directories", s.apiKey, `{"type":"okta","name":"x","okta":{"base_url":"https://a.okta.com"}}`, 400},
		{"MissingSettingsBlock", "POST", "/v1/directories", s.apiKey, `{"type":"okta","name":"x"}`, 400},
		{"BothSettingsBlocks", "POST", "/v1/directories", s.apiKey, `{"type":"okta","name":"x","okta":{"base_url":"https://a.okta.com","api_token":"t"},"entra":{}}`, 400},
		{"BadURLScheme", "POST", "/v1/directories", s.apiKey, `{"type":"okta","name":"x","okta":{"base_url":"ftp://a.okta.com","api_token":"t"}}`, 400},
		{"BadURLRelative", "POST", "/v1/directories", s.apiKey, `{"type":"okta","name":"x","okta":{"base_url":"a.okta.com","api_token":"t"}}`, 400},
		{"BadURLCredentials", "POST", "/v1/directories", s.apiKey, `{"type":"okta","name":"x","okta":{"base_url":"https://u:p@a.okta.com","api_token":"t"}}`, 400},
		{"BadEntraURL", "POST", "/v1/directories", s.apiKey, `{"type":"entra","name":"x","entra":{"tenant_id":"t","client_id":"c","client_secret":"s","graph_base_url":"nope"}}`, 400},
		{"MissingEntraSecret", "POST", "/v1/directories", s.apiKey, `{"type":"entra","name":"x","entra":{"tenant_id":"t","client_id":"c"}}`, 400},
		{"NotJSONContentType", "POST", "/v1/directories", s.apiKey, "type=okta", 400},
		{"TooLarge", "POST", "/v1/directories", s.apiKey, `{"name":"` + strings.Repeat("x", 2<<20) + `"}`, 413},
		{"NoKey", "GET", "/v1/directories", "", ``, 401},
		{"WrongKey", "GET", "/v1/directories", "hk_not-a-real-key", ``, 401},
		{"NoKeyCreate", "POST", "/v1/directories", "", okta(""), 401},
		{"OtherWorkspaceDirectory", "GET", "/v1/directories/" + dir.ID, otherKey, ``, 404},
		{"OtherWorkspaceSync", "POST", "/v1/directories/" + dir.ID + "/sync", otherKey, ``, 404},
		{"SyncTakesNoBody", "POST", "/v1/directories/" + dir.ID + "/sync", s.apiKey, `{"full":true}`, 400},
		{"OtherWorkspaceUsers", "GET", "/v1/directories/" + dir.ID + "/users", otherKey, ``, 404},
		{"OtherWorkspaceRuns", "GET", "/v1/directories/" + dir.ID + "/sync-runs", otherKey, ``, 404},
		{"UnknownDirectory", "GET", "/v1/directories/" + missing, s.apiKey, ``, 404},
		{"MalformedID", "POST", "/v1/directories/not-a-uuid/sync", s.apiKey, ``, 404},
		{"LimitZero", "GET", "/v1/directories?limit=0", s.apiKey, ``, 400},
		{"LimitText", "GET", "/v1/directories/" + dir.ID + "/users?limit=ten", s.apiKey, ``, 400},
		{"LimitTooLarge", "GET", "/v1/directories/" + dir.ID + "/sync-runs?limit=501", s.apiKey, ``, 400},
		{"BadCursor", "GET", "/v1/directories/" + dir.ID + "/users?cursor=%%%21", s.apiKey, ``, 400},
		{"ForgedCursor", "GET", "/v1/directories?cursor=bm90LWpzb24", s.apiKey, ``, 400},
		{"ForgedCursorNotUUID", "GET", "/v1/directories?cursor=Ingi", s.apiKey, ``, 400},
		{"ForgedRunCursorNotUUID", "GET", "/v1/directories/" + dir.ID + "/sync-runs?cursor=eyJ0IjogIjIwMjAtMDEtMDFUMDA6MDA6MDBaIiwgImlkIjogIngifQ", s.apiKey, ``, 400},
		{"BadStatus", "GET", "/v1/directories/" + dir.ID + "/users?status=gone", s.apiKey, ``, 400},
		{"LongQuery", "GET", "/v1/directories/" + dir.ID + "/users?q=" + strings.Repeat("a", 201), s.apiKey, ``, 400},
		{"UnknownRoute", "GET", "/v1/nope", s.apiKey, ``, 404},
		{"WrongMethod", "DELETE", "/v1/directories", s.apiKey, ``, 405},
		{"EmptySecret", "PUT", "/v1/directories/" + dir.ID + "/credentials", s.apiKey, `{"secret":"  "}`, 400},
		{"SecretOtherWorkspace", "PUT", "/v1/directories/" + dir.ID + "/credentials", otherKey, `{"secret":"x"}`, 404},
		{"SecretUnknownField", "PUT", "/v1/directories/" + dir.ID + "/credentials", s.apiKey, `{"api_token":"x"}`, 400},
	}
	s.expectErrors(t, cases)
}

// badRequest is a request that must fail with a JSON error and change nothing.
type badRequest struct {
	name, method, path, key, body string
	want                          int
}

// expectErrors sends each request and checks its status and error body
// (with says, when given, its message), then that no row anywhere changed.
func (s *stack) expectErrors(t *testing.T, cases []badRequest, says ...func(tc badRequest, message string) bool) {
	t.Helper()
	before := s.rowCounts()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, s.api.URL+tc.path, strings.NewReader(tc.body))
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
				if tc.name == "NotJSONContentType" {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
			}
			if tc.key != "" {
				req.Header.Set("Authorization", "Bearer "+tc.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			var body struct {
				Error struct{ Code, Message string }
				// A SCIM error.
				Schemas        []string
				Status, Detail string
			}
			if err := json.Unmarshal(raw, &body); err != nil && !strings.HasPrefix(tc.path, "/ui/") {
				t.Fatalf("status %d, body %q is not JSON", resp.StatusCode, raw)
			}
			if strings.HasPrefix(tc.path, "/ui/") {
				// A console page: the message is its alert.
				m := regexp.MustCompile(`<p role="alert" class="error">([^<]*)</p>`).FindSubmatch(raw)
				if m == nil || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
					t.Fatalf("status %d, body %q is not a console error page", resp.StatusCode, raw)
				}
				body.Error.Code, body.Error.Message = strconv.Itoa(resp.StatusCode), html.UnescapeString(string(m[1]))
			} else if strings.HasPrefix(tc.path, "/scim/") {
				if len(body.Schemas) != 1 || body.Schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" || body.Status != strconv.Itoa(resp.StatusCode) {
					t.Fatalf("status %d, body %q is not a SCIM error", resp.StatusCode, raw)
				}
				body.Error.Code, body.Error.Message = body.Status, body.Detail
			}
			if body.Error.Code == "" || body.Error.Message == "" {
				t.Fatalf("status %d, body %q is not a JSON error", resp.StatusCode, raw)
			}
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, raw, tc.want)
			}
			for _, ok := range says {
				if !ok(tc, body.Error.Message) {
					t.Fatalf("message %q does not say where the bad input was", body.Error.Message)
				}
			}
		})
	}
	after := s.rowCounts()
	for table, n := range before {
		if after[table] != n {
			t.Errorf("bad requests changed %s: %d rows before, %d after", table, n, after[table])
		}
	}
}

func TestIntegrationBadInput(t *testing.T) {
	s := newStack(t, seed.Company(emailDomain, 5, 4))
	ig, code := s.createIntegration(s.apiKey, metaToken)
	if code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	other, _ := s.store.CreateWorkspace(context.Background(), "Other")
	otherKey, _, _ := s.store.CreateAPIKey(context.Background(), store.NewAPIKey{WorkspaceID: other.ID, Name: "other", Scope: store.ScopeAdmin, Actor: "test"})
	body := func(change string) string {
		return `{"provider":"meta","label":"L","business_id":"123","login_method":"sso","access_token":"EAAx"` + change + `}`
	}
	s.expectErrors(t, []badRequest{
		{"Duplicate", "POST", "/v1/integrations", s.apiKey, `{"provider":"meta","label":"L","business_id":"` + metaBusinessID + `","login_method":"sso","access_token":"EAAx"}`, 409},
		{"MissingProvider", "POST", "/v1/integrations", s.apiKey, `{"label":"L"}`, 400},
		{"UnknownProvider", "POST", "/v1/integrations", s.apiKey, body(`,"provider":"tiktok"`), 400},
		{"PinterestNotYet", "POST", "/v1/integrations", s.apiKey, strings.Replace(body(""), `"meta"`, `"pinterest"`, 1), 400},
		{"MissingToken", "POST", "/v1/integrations", s.apiKey, `{"provider":"meta","label":"L","business_id":"123","login_method":"sso"}`, 400},
		{"NonNumericBusiness", "POST", "/v1/integrations", s.apiKey, strings.Replace(body(""), `"123"`, `"acme"`, 1), 400},
		{"NonNumericApp", "POST", "/v1/integrations", s.apiKey, body(`,"app_id":"x1"`), 400},
		{"BadLoginMethod", "POST", "/v1/integrations", s.apiKey, strings.Replace(body(""), `"sso"`, `"magic"`, 1), 400},
		{"BadGraphURL", "POST", "/v1/integrations", s.apiKey, body(`,"graph_base_url":"graph.facebook.com"`), 400},
		{"BadGraphVersion", "POST", "/v1/integrations", s.apiKey, body(`,"graph_version":"25"`), 400},
		{"SafeguardZero", "POST", "/v1/integrations", s.apiKey, body(`,"removal_safeguard":0`), 400},
		{"SafeguardOverOne", "POST", "/v1/integrations", s.apiKey, body(`,"removal_safeguard":1.5`), 400},
		{"SafeguardText", "POST", "/v1/integrations", s.apiKey, body(`,"removal_safeguard":"20%"`), 400},
		{"UnknownField", "POST", "/v1/integrations", s.apiKey, body(`,"tokn":"x"`), 400},
		{"NoKey", "POST", "/v1/integrations", "", body(""), 401},
		{"OtherWorkspace", "GET", "/v1/integrations/" + ig.ID, otherKey, "", 404},
		{"OtherWorkspaceSync", "POST", "/v1/integrations/" + ig.ID + "/sync", otherKey, "", 404},
		{"OtherWorkspaceMembers", "GET", "/v1/integrations/" + ig.ID + "/members", otherKey, "", 404},
		{"OtherWorkspaceAssets", "GET", "/v1/integrations/" + ig.ID + "/assets", otherKey, "", 404},
		{"BadState", "GET", "/v1/integrations/" + ig.ID + "/members?state=gone", s.apiKey, "", 400},
		{"BadLimit", "GET", "/v1/integrations/" + ig.ID + "/assets?limit=0", s.apiKey, "", 400},
		{"MalformedID", "GET", "/v1/integrations/nope/sync-runs", s.apiKey, "", 404},
		{"MalformedIDMember", "GET", "/v1/integrations/nope/members/1", s.apiKey, "", 404},
		{"EmptyToken", "PUT", "/v1/integrations/" + ig.ID + "/token", s.apiKey, `{"access_token":""}`, 400},
		{"TokenOtherWorkspace", "PUT", "/v1/integrations/" + ig.ID + "/token", otherKey, `{"access_token":"EAAx"}`, 404},
	})
}

// TestBadBytesEveryRoute sends invalid UTF-8 and NUL bytes to every route:
// in each path parameter, in a query value and in a JSON body. Each gets
// a 400 JSON error naming where the bytes were, and nothing changes.
func TestBadBytesEveryRoute(t *testing.T) {
	s := newStack(t, seed.Company(emailDomain, 5, 4))
	dir := s.importOkta()
	ig, code := s.createIntegration(s.apiKey, metaToken)
	if code != http.StatusCreated {
		t.Fatalf("create integration: %d", code)
	}
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	member := s.members(s.apiKey, ig.ID, "")[0].ExternalID
	runs, _, err := s.store.ListSyncRuns(context.Background(), s.ws.ID, ig.ID, store.Page{Limit: 1})
	if err != nil || len(runs) == 0 {
		t.Fatalf("sync runs: %v", err)
	}
	supportKey, _, err := s.store.CreateAPIKey(context.Background(), store.NewAPIKey{Name: "support", Scope: store.ScopeSupport, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	scim := s.scimDirectory("SCIM")
	const missing = "00000000-0000-4000-8000-000000000000"
	good := func(route, param string) string {
		switch {
		case param == "directory":
			return scim.ID
		case param == "resource":
			return "ann-1"
		case param == "name":
			return "User"
		case param == "id" && strings.HasPrefix(route, "/v1/directories"):
			return dir.ID
		case param == "id" && (strings.HasPrefix(route, "/v1/integrations") || strings.HasPrefix(route, "/ui/apps")):
			return ig.ID
		case param == "member", param == "invitation":
			return member
		case param == "run":
			return runs[0].ID
		}
		return missing
	}
	bad := map[string]string{"InvalidUTF8": "%ff", "NUL": "a%00b"}
	var cases []badRequest
	for _, r := range api.New(api.Options{}).Routes() {
		var params []string
		path := regexp.MustCompile(`:\w+`).ReplaceAllStringFunc(r.Path, func(p string) string {
			params = append(params, p[1:])
			return good(r.Path, p[1:])
		})
		name, key := r.Method+" "+r.Path, s.apiKey
		if strings.HasSuffix(r.Path, "/app-approved") {
			key = supportKey
		}
		if strings.HasPrefix(r.Path, "/scim/") {
			key = scim.Token
		}
		for kind, text := range bad {
			for _, p := range params {
				badPath := strings.Replace(path, "/"+good(r.Path, p), "/"+text, 1)
				cases = append(cases, badRequest{name + " " + kind + " " + p, r.Method, badPath, key, "", 400})
			}
			cases = append(cases, badRequest{name + " " + kind + " query", r.Method, path + "?q=" + text, key, "", 400})
		}
		if (r.Method == "POST" || r.Method == "PUT") && !strings.HasPrefix(r.Path, "/confirm/") && !strings.HasPrefix(r.Path, "/codec/") &&
			!strings.HasPrefix(r.Path, "/ui/") {
			cases = append(cases,
				badRequest{name + " body NUL", r.Method, path, key, `{"name":"a\u0000b"}`, 400},
				badRequest{name + " body NUL nested", r.Method, path, key, `{"okta":{"base_url":["x","\u0000"]}}`, 400},
				badRequest{name + " body InvalidUTF8", r.Method, path, key, "{\"name\":\"\xff\"}", 400})
		}
	}
	s.expectErrors(t, cases, func(tc badRequest, message string) bool {
		switch {
		case strings.HasSuffix(tc.name, " query"):
			return strings.Contains(message, `query parameter "q"`)
		case strings.Contains(tc.name, " body NUL nested"):
			return message == `field "okta.base_url[1]" contains a NUL character`
		case strings.Contains(tc.name, " body NUL"):
			return message == `field "name" contains a NUL character`
		case strings.Contains(tc.name, " body "):
			return message == "request body is not valid UTF-8"
		}
		param := tc.name[strings.LastIndex(tc.name, " ")+1:]
		return strings.Contains(message, `path parameter "`+param+`"`)
	})
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	raw, err := os.ReadFile("../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var documented, served []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+regexp.MustCompile(`\{(\w+)\}`).ReplaceAllString(path, ":$1"))
		}
	}
	srv := api.New(api.Options{})
	for _, r := range srv.Routes() {
		served = append(served, r.Method+" "+r.Path)
	}
	sort.Strings(documented)
	sort.Strings(served)
	if strings.Join(documented, "\n") != strings.Join(served, "\n") {
		t.Fatalf("openapi.yaml and the routes differ:\ndocumented:\n%s\n\nserved:\n%s", strings.Join(documented, "\n"), strings.Join(served, "\n"))
	}
}

func TestCodecEndpoint(t *testing.T) {
	s := newStack(t, nil)
	keys, _ := secrets.ParseKeyring(temporaltest.KeySpec)
	encoded, err := (&temporalclient.Codec{Keys: keys}).Encode([]*commonpb.Payload{{
		Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`{"DirectoryID":"d1"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"payloads": encoded})
	decode := func(url, authorization string) (int, string, http.Header) {
		req, _ := http.NewRequest("POST", url, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Namespace", "default")
		req.Header.Set("Origin", "http://localhost:8233")
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out), resp.Header
	}
	const decoded = "eyJEaXJlY3RvcnlJRCI6ImQxIn0"
	for name, call := range map[string][2]string{
		"Header": {s.api.URL + "/codec/decode", "Bearer " + codecToken},
		"Path":   {s.api.URL + "/codec/" + codecToken + "/decode", ""},
	} {
		code, out, header := decode(call[0], call[1])
		if code != 200 || !strings.Contains(out, decoded) || header.Get("Access-Control-Allow-Origin") != "http://localhost:8233" {
			t.Fatalf("%s: decode: %d %s (CORS %q)", name, code, out, header.Get("Access-Control-Allow-Origin"))
		}
	}
	for name, call := range map[string][2]string{
		"NoToken":         {s.api.URL + "/codec/decode", ""},
		"WrongHeader":     {s.api.URL + "/codec/decode", "Bearer " + codecToken + "x"},
		"WrongPath":       {s.api.URL + "/codec/" + codecToken + "x/decode", ""},
		"WrongPathHeader": {s.api.URL + "/codec/nope-nope-nope-nope/decode", "Bearer " + codecToken},
	} {
		if code, out, _ := decode(call[0], call[1]); code != http.StatusUnauthorized || strings.Contains(out, decoded) {
			t.Errorf("%s: %d %s, want 401", name, code, out)
		}
	}

	preflight, _ := http.NewRequest("OPTIONS", s.api.URL+"/codec/decode", nil)
	preflight.Header.Set("Origin", "http://evil.example")
	resp, err := http.DefaultClient.Do(preflight)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS allowed an unknown origin")
	}

	// With no token configured (the default), nothing is decoded.
	srv := api.New(api.Options{Codec: temporalclient.CodecHandler(keys, nil, "")})
	for _, path := range []string{"/codec/decode", "/codec/" + codecToken + "/decode"} {
		rec := newRecorder()
		r, _ := http.NewRequest("POST", path, strings.NewReader(string(body)))
		r.Header.Set("Authorization", "Bearer ")
		srv.ServeHTTP(rec, r)
		if rec.code != http.StatusUnauthorized || !strings.Contains(rec.body.String(), "HUBKEEPER_CODEC_ACCESS_TOKEN") {
			t.Fatalf("unconfigured %s: %d %s", path, rec.code, rec.body.String())
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	s := newStack(t, nil)
	var health map[string]string
	if code := s.call("GET", "/healthz", "", nil, &health); code != 200 || health["status"] != "ok" {
		t.Fatalf("healthz: %d %v", code, health)
	}
	var ready struct {
		Checks map[string]string `json:"checks"`
	}
	if code := s.call("GET", "/readyz", "", nil, &ready); code != 200 || ready.Checks["postgres"] != "ok" || ready.Checks["temporal"] != "ok" {
		t.Fatalf("readyz: %d %v", code, ready.Checks)
	}
	s.store.Close() // Postgres gone from the API's point of view
	if code := s.call("GET", "/readyz", "", nil, &ready); code != 503 || ready.Checks["postgres"] != "unreachable" {
		t.Fatalf("readyz without Postgres: %d %v", code, ready.Checks)
	}
}
