package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/entrasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/oktasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/secrets"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/internal/temporalclient"
	"github.com/hubkeeper/hubkeeper/internal/temporaltest"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

func countStatus(people []seed.Person, status domain.UserStatus) int {
	n := 0
	for _, p := range people {
		if p.Status == status {
			n++
		}
	}
	return n
}

func TestOktaImportEndToEnd(t *testing.T) {
	people := seed.Company(emailDomain, 450, 1)
	s := newStack(t, people)
	dir := s.createDirectory(s.oktaDirectoryBody(oktaToken))
	sched, err := s.temporal.ScheduleClient().GetHandle(context.Background(), "directory-sync/"+dir.ID).Describe(context.Background())
	if err != nil {
		t.Fatalf("the directory's Schedule: %v", err)
	}
	if sched.Schedule.Policy.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_SKIP || len(sched.Schedule.Spec.Intervals) != 1 ||
		sched.Schedule.Spec.Intervals[0].Every != 24*time.Hour {
		t.Fatalf("schedule = %+v %+v", sched.Schedule.Policy, sched.Schedule.Spec)
	}

	first, err := s.sync(dir.ID)
	if err != nil {
		t.Fatalf("first import: %v", err)
	}
	if first.WorkflowID != "directory-sync/"+dir.ID {
		t.Fatalf("workflow id = %s", first.WorkflowID)
	}
	users := s.users(dir.ID, "")
	if len(users) != len(people) {
		t.Fatalf("API lists %d users, want %d", len(users), len(people))
	}
	deprov := s.users(dir.ID, "&status=deprovisioned")
	if want := countStatus(people, domain.UserDeprovisioned); len(deprov) != want || want == 0 {
		t.Fatalf("deprovisioned = %d, want %d", len(deprov), want)
	}
	if found := s.users(dir.ID, "&q="+people[3].Email); len(found) != 1 || found[0].Email != people[3].Email {
		t.Fatalf("search by e-mail found %v", found)
	}

	// Someone leaves: Okta deactivates them; the next import sees it.
	var leaver seed.Person
	for _, p := range people {
		if p.Status == domain.UserActive {
			leaver = p
			break
		}
	}
	if err := s.okta.SetStatus(oktasandbox.OktaID(leaver.Key), "DEPROVISIONED"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.sync(dir.ID); err != nil {
		t.Fatalf("second import: %v", err)
	}
	var runs struct {
		Items []store.SyncRun `json:"items"`
	}
	if code := s.call("GET", "/v1/directories/"+dir.ID+"/sync-runs", s.apiKey, nil, &runs); code != http.StatusOK || len(runs.Items) != 2 {
		t.Fatalf("sync runs: %d %d", code, len(runs.Items))
	}
	latest, earliest := runs.Items[0], runs.Items[1]
	if earliest.Added != len(people) || earliest.Status != domain.SyncSucceeded {
		t.Fatalf("first run = %+v", earliest)
	}
	want := domain.SyncCounts{Deprovisioned: 1, Unchanged: len(people) - 1}
	if latest.SyncCounts != want || latest.Status != domain.SyncSucceeded || latest.Requests == 0 {
		t.Fatalf("second run = %+v, want %+v", latest, want)
	}

	assertNoSecrets(t, s, first.WorkflowID, first.RunID, oktaToken)
	exportHistory(t, s, first.WorkflowID, first.RunID, "directory_sync_okta_slots.json")
}

func TestEntraImportEndToEnd(t *testing.T) {
	people := seed.Company(emailDomain, 300, 2)
	s := newStack(t, people)
	dir := s.createDirectory(s.entraDirectoryBody())
	first, err := s.sync(dir.ID)
	if err != nil {
		t.Fatalf("first import: %v", err)
	}
	live := len(people) - countStatus(people, domain.UserDeprovisioned)
	if users := s.users(dir.ID, ""); len(users) != live {
		t.Fatalf("API lists %d users, want %d", len(users), live)
	}
	if n := len(s.users(dir.ID, "&status=suspended")); n != countStatus(people, domain.UserSuspended) {
		t.Fatalf("suspended = %d", n)
	}

	// An admin deletes one user in Entra: the delta round reports it removed.
	var gone seed.Person
	for _, p := range people {
		if p.Status == domain.UserActive {
			gone = p
			break
		}
	}
	req, _ := http.NewRequest("DELETE", s.entraURL+"/v1.0/users/"+entrasandbox.EntraID(gone.Key), nil)
	req.Header.Set("Authorization", "Bearer "+graphToken(t, s))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete in Entra: %v", err)
	}
	if _, err := s.sync(dir.ID); err != nil {
		t.Fatalf("delta import: %v", err)
	}
	var runs struct {
		Items []store.SyncRun `json:"items"`
	}
	s.call("GET", "/v1/directories/"+dir.ID+"/sync-runs", s.apiKey, nil, &runs)
	if got := runs.Items[0].SyncCounts; got != (domain.SyncCounts{Deprovisioned: 1}) {
		t.Fatalf("delta round counts = %+v (only the change should be fetched)", got)
	}
	found := s.users(dir.ID, "&q="+gone.Email)
	if len(found) != 1 || found[0].Status != domain.UserDeprovisioned {
		t.Fatalf("deleted user = %+v", found)
	}

	// A guest invited from an agency is marked and known by their own address.
	s.entra.AddGuest("7d1e5b0c-guest-4000-8000-000000000001", "ann@agency.test", "Ann (Agency)")
	if _, err := s.sync(dir.ID); err != nil {
		t.Fatalf("guest import: %v", err)
	}
	guests := s.users(dir.ID, "&q=agency.test")
	if len(guests) != 1 || !guests[0].Guest || guests[0].Email != "ann@agency.test" || len(guests[0].Aliases) != 0 {
		t.Fatalf("guest = %+v", guests)
	}
	assertNoSecrets(t, s, first.WorkflowID, first.RunID, entraSecret)
}

func graphToken(t *testing.T, s *stack) string {
	t.Helper()
	resp, err := http.PostForm(s.entraURL+"/"+entraTenant+"/oauth2/v2.0/token", map[string][]string{"client_id": {entraClient},
		"client_secret": {entraSecret}, "scope": {"https://graph.microsoft.com/.default"}, "grant_type": {"client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := jsonDecode(resp.Body, &tok); err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

func TestBadTokenNeedsReauth(t *testing.T) {
	s := newStack(t, seed.Company(emailDomain, 20, 3))
	const wrong = "00WRONG-token-never-logged-Kp2"
	dir := s.createDirectory(s.oktaDirectoryBody(wrong))
	started, err := s.sync(dir.ID)
	if err == nil || !strings.Contains(err.Error(), "E0000011") {
		t.Fatalf("import with a bad token: %v", err)
	}
	if n := s.okta.Requests(); n != 1 {
		t.Fatalf("Okta got %d requests: an auth failure must not be retried", n)
	}
	var got store.Directory
	s.call("GET", "/v1/directories/"+dir.ID, s.apiKey, nil, &got)
	if got.Status != domain.DirectoryNeedsReauth || !strings.Contains(got.StatusMessage, "Okta rejected the API token") {
		t.Fatalf("directory = %+v", got)
	}
	var runs struct {
		Items []store.SyncRun `json:"items"`
	}
	s.call("GET", "/v1/directories/"+dir.ID+"/sync-runs", s.apiKey, nil, &runs)
	if len(runs.Items) != 1 || runs.Items[0].Status != domain.SyncFailed || runs.Items[0].Error == "" {
		t.Fatalf("runs = %+v", runs.Items)
	}
	events, _, err := s.store.ListAuditEvents(context.Background(), s.ws.ID, store.AuditFilter{Action: "directory.needs_reauth"}, store.Page{})
	if err != nil || len(events) != 1 || events[0].WorkflowID != started.WorkflowID {
		t.Fatalf("audit = %+v, %v", events, err)
	}
	assertNoSecrets(t, s, started.WorkflowID, started.RunID, wrong)
	exportHistory(t, s, started.WorkflowID, started.RunID, "directory_sync_refused_encoded_failure.json")

	// The admin puts the right token in: the next import succeeds and the directory is ok again.
	if code := s.call("PUT", "/v1/directories/"+dir.ID+"/credentials", s.apiKey, map[string]string{"secret": oktaToken}, nil); code != http.StatusNoContent {
		t.Fatalf("replace secret: %d", code)
	}
	if _, err := s.sync(dir.ID); err != nil {
		t.Fatalf("import with the new token: %v", err)
	}
	var fixed store.Directory
	s.call("GET", "/v1/directories/"+dir.ID, s.apiKey, nil, &fixed)
	if fixed.Status != domain.DirectoryOK || fixed.StatusMessage != "" {
		t.Fatalf("after a new token: %+v", fixed)
	}
}

// assertNoSecrets checks a run's history and its current details (pending
// activities with their heartbeats and last failures, memo, search
// attributes) — as stored, and with every payload decrypted — and the logs
// for secret, in clear and in base64. Failures must be encoded, and no
// e-mail address may appear in anything stored in clear.
func assertNoSecrets(t *testing.T, s *stack, workflowID, runID, secret string) {
	t.Helper()
	hist := history(t, s, workflowID, runID)
	desc, err := s.temporal.DescribeWorkflowExecution(context.Background(), workflowID, runID)
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	for _, m := range []proto.Message{hist, desc} {
		b, err := protojson.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, b...)
	}
	// A short number (a verification code) counts only standing alone: the
	// digits of timestamps and ids are no leak.
	forms := []*regexp.Regexp{regexp.MustCompile(`(^|[^0-9])` + regexp.QuoteMeta(secret) + `([^0-9]|$)`),
		regexp.MustCompile(regexp.QuoteMeta(base64.StdEncoding.EncodeToString([]byte(secret))))}
	for _, f := range forms {
		if f.Match(raw) {
			t.Fatalf("history contains the secret")
		}
		if f.MatchString(s.logs.String()) {
			t.Fatalf("logs contain the secret")
		}
	}
	if address := regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z0-9.-]+`).Find(raw); address != nil {
		t.Fatalf("history holds an e-mail address in clear: %s", address)
	}
	for _, f := range collectFailures(hist.ProtoReflect()) {
		if f.Source == "GoSDK" && (f.EncodedAttributes == nil || f.Message != "Encoded failure") {
			t.Fatalf("failure stored unencoded: %q", f.Message)
		}
	}
	keys, _ := secrets.ParseKeyring(temporaltest.KeySpec)
	codec := &temporalclient.Codec{Keys: keys}
	payloads := append(collectPayloads(hist.ProtoReflect()), collectPayloads(desc.ProtoReflect())...)
	if len(payloads) == 0 {
		t.Fatal("history has no payloads to check")
	}
	for _, p := range payloads {
		if string(p.Metadata["encoding"]) != "binary/encrypted" {
			t.Fatalf("payload stored unencrypted: %s", p.Metadata["encoding"])
		}
		dec, err := codec.Decode([]*commonpb.Payload{p})
		if err != nil {
			t.Fatalf("decode payload: %v", err)
		}
		if bytes.Contains(dec[0].Data, []byte(secret)) {
			t.Fatalf("decrypted history payload contains the secret: %s", dec[0].Data)
		}
	}
}

// collectFailures finds every Failure in a message, causes included.
func collectFailures(m protoreflect.Message) []*failurepb.Failure {
	var out []*failurepb.Failure
	if f, ok := m.Interface().(*failurepb.Failure); ok {
		out = append(out, f)
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := range v.List().Len() {
				out = append(out, collectFailures(v.List().Get(i).Message())...)
			}
		case fd.Message() != nil && !fd.IsList() && !fd.IsMap():
			out = append(out, collectFailures(v.Message())...)
		}
		return true
	})
	return out
}

func history(t testing.TB, s *stack, workflowID, runID string) *historypb.History {
	t.Helper()
	it := s.temporal.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	return h
}

// collectPayloads finds every codec-encoded Payload in a message, wherever
// it is nested. Search attributes are skipped: Temporal keeps them
// unencrypted by design (the raw-history check covers them).
func collectPayloads(m protoreflect.Message) []*commonpb.Payload {
	switch v := m.Interface().(type) {
	case *commonpb.Payload:
		return []*commonpb.Payload{v}
	case *commonpb.SearchAttributes:
		return nil
	}
	var out []*commonpb.Payload
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := range v.List().Len() {
				out = append(out, collectPayloads(v.List().Get(i).Message())...)
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				out = append(out, collectPayloads(mv.Message())...)
				return true
			})
		case fd.Message() != nil && !fd.IsList() && !fd.IsMap():
			out = append(out, collectPayloads(v.Message())...)
		}
		return true
	})
	return out
}

// exportHistory writes a run's history for the replay test when
// HUBKEEPER_UPDATE_TESTDATA=1.
func exportHistory(t *testing.T, s *stack, workflowID, runID, name string) {
	t.Helper()
	if os.Getenv("HUBKEEPER_UPDATE_TESTDATA") != "1" {
		return
	}
	raw, err := protojson.MarshalOptions{Multiline: true}.Marshal(history(t, s, workflowID, runID))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "workflows", "testdata", name), raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// An import that would deprovision more than a tenth of the directory
// halts: nothing is applied, no report comes of it, the run says why; an
// admin accepts it through the API and the next check reports the leavers.
func TestDirectoryDeprovisionSafeguard(t *testing.T) {
	people := seed.Company(emailDomain, 300, 5)
	s := newStack(t, people)
	dir := s.importOkta()
	ig, _ := s.createIntegration(s.apiKey, metaToken)
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	var before struct{ Items []store.Report }
	s.call("GET", "/v1/reports", s.apiKey, nil, &before)
	reported := len(before.Items[0].Members)

	// Forty people vanish from Okta at once (a wrong filter, say).
	gone := 0
	for _, p := range people {
		if p.Status == domain.UserActive && gone < 40 {
			if err := s.okta.SetStatus(oktasandbox.OktaID(p.Key), "DEPROVISIONED"); err != nil {
				t.Fatal(err)
			}
			gone++
		}
	}
	if _, err := s.sync(dir.ID); err == nil || !strings.Contains(err.Error(), "deprovision safeguard") {
		t.Fatalf("the mass deprovisioning was applied: %v", err)
	}
	var runs struct{ Items []store.SyncRun }
	s.call("GET", "/v1/directories/"+dir.ID+"/sync-runs?limit=1", s.apiKey, nil, &runs)
	halted := runs.Items[0]
	if !halted.Halted || !strings.Contains(halted.Error, "40 of") || !strings.Contains(halted.Error, "/accept") {
		t.Fatalf("halted run %+v", halted)
	}
	var shown store.Directory
	if s.call("GET", "/v1/directories/"+dir.ID, s.apiKey, nil, &shown); !strings.Contains(shown.StatusMessage, "halted") {
		t.Fatalf("the directory does not say its import halted: %+v", shown)
	}
	if n := len(s.users(dir.ID, "&status=deprovisioned")); n != countStatus(people, domain.UserDeprovisioned) {
		t.Fatalf("%d deprovisioned after the halted import", n)
	}
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	var after struct{ Items []store.Report }
	s.call("GET", "/v1/reports", s.apiKey, nil, &after)
	if len(after.Items) != 1 || len(after.Items[0].Members) != reported {
		t.Fatal("a halted import reported people")
	}
	var events struct{ Items []store.AuditEvent }
	if s.call("GET", "/v1/audit?action=directory.import_halted", s.apiKey, nil, &events); len(events.Items) != 1 {
		t.Fatalf("%d halt audit events", len(events.Items))
	}

	// Bad accepts change nothing; the admin's accept applies it.
	accept := "/v1/directories/" + dir.ID + "/sync-runs/" + halted.ID + "/accept"
	s.expectErrors(t, []badRequest{
		{"UnknownRun", "POST", "/v1/directories/" + dir.ID + "/sync-runs/00000000-0000-4000-8000-000000000000/accept", s.apiKey, "", 404},
		{"MalformedRun", "POST", "/v1/directories/" + dir.ID + "/sync-runs/nope/accept", s.apiKey, "", 404},
		{"WithBody", "POST", accept, s.apiKey, `{"force":true}`, 400},
	})
	var accepted store.SyncRun
	if code := s.call("POST", accept, s.apiKey, nil, &accepted); code != 200 || accepted.Status != domain.SyncSucceeded ||
		accepted.Deprovisioned != 40 {
		t.Fatalf("accept: %d %+v", code, accepted)
	}
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	s.call("GET", "/v1/reports", s.apiKey, nil, &after)
	if len(after.Items[0].Members) <= reported {
		t.Fatal("the accepted leavers were not reported")
	}
}

// An Okta directory can be an OAuth 2.0 service app (private_key_jwt,
// DPoP as Okta requires for new apps) instead of an SSWS token: created
// with its key, imported, and marked needs_reauth with Okta's reason when
// Okta no longer takes its key. The key is never in history or logs.
func TestOktaServiceAppImport(t *testing.T) {
	people := seed.Company(emailDomain, 120, 3)
	s := newStack(t, people)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	s.okta.RegisterServiceApp(oktasandbox.ServiceApp{ClientID: "0oa1hubkeeper", RequireDPoP: true,
		Scopes: []string{"okta.users.read", "okta.groups.read"}, PublicKey: jose.JSONWebKey{Key: key.Public(), KeyID: "hk-1"}})
	private, _ := jose.JSONWebKey{Key: key, KeyID: "hk-1", Algorithm: "RS256"}.MarshalJSON()
	app := map[string]any{"base_url": s.oktaURL, "client_id": "0oa1hubkeeper", "private_key": string(private)}

	s.expectErrors(t, []badRequest{
		{"TokenAndApp", "POST", "/v1/directories", s.apiKey, `{"type":"okta","name":"O","okta":{"base_url":"` + s.oktaURL +
			`","api_token":"x","client_id":"0oa1","private_key":"y"}}`, 400},
		{"KeyNotAKey", "POST", "/v1/directories", s.apiKey, `{"type":"okta","name":"O","okta":{"base_url":"` + s.oktaURL +
			`","client_id":"0oa1","private_key":"not a key"}}`, 400},
		{"KeyWithoutClient", "POST", "/v1/directories", s.apiKey, `{"type":"okta","name":"O","okta":{"base_url":"` + s.oktaURL +
			`","private_key":"y"}}`, 400},
	})
	dir := s.createDirectory(map[string]any{"type": "okta", "name": "Okta (service app)", "okta": app})
	if dir.Settings.ClientID != "0oa1hubkeeper" {
		t.Fatalf("settings %+v", dir.Settings)
	}
	first, err := s.sync(dir.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.users(dir.ID, "")); n != len(people) {
		t.Fatalf("%d users, want %d", n, len(people))
	}
	var jwk struct{ D string }
	_ = json.Unmarshal(private, &jwk)
	assertNoSecrets(t, s, first.WorkflowID, first.RunID, jwk.D)

	// Okta's app gets a new key; ours no longer signs for it.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	s.okta.RegisterServiceApp(oktasandbox.ServiceApp{ClientID: "0oa1hubkeeper", RequireDPoP: true,
		Scopes: []string{"okta.users.read", "okta.groups.read"}, PublicKey: jose.JSONWebKey{Key: other.Public()}})
	s.okta.ExpireAccessTokens()
	if _, err := s.sync(dir.ID); err == nil {
		t.Fatal("an import with a refused key succeeded")
	}
	var got store.Directory
	s.call("GET", "/v1/directories/"+dir.ID, s.apiKey, nil, &got)
	if got.Status != domain.DirectoryNeedsReauth || !strings.Contains(got.StatusMessage, "invalid_client") {
		t.Fatalf("directory %s: %s", got.Status, got.StatusMessage)
	}
	// The admin uploads the new key; the next import reconnects.
	newKey := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)}))
	if code := s.call("PUT", "/v1/directories/"+dir.ID+"/credentials", s.apiKey, map[string]any{"secret": "not a key"}, nil); code != 400 {
		t.Fatalf("a bad key was taken: %d", code)
	}
	if code := s.call("PUT", "/v1/directories/"+dir.ID+"/credentials", s.apiKey, map[string]any{"secret": newKey}, nil); code != 204 {
		t.Fatalf("new key: %d", code)
	}
	if _, err := s.sync(dir.ID); err != nil {
		t.Fatal(err)
	}
	s.call("GET", "/v1/directories/"+dir.ID, s.apiKey, nil, &got)
	if got.Status != domain.DirectoryOK {
		t.Fatalf("directory %s after the new key", got.Status)
	}
}

// An Okta import brings the directory's groups and who is in each; a
// membership changed in Okta shows after the next import.
func TestOktaGroupsImported(t *testing.T) {
	people := seed.Company(emailDomain, 300, 4)
	s := newStack(t, people)
	var marketing []string
	for i, p := range people {
		if i%10 == 0 {
			marketing = append(marketing, oktasandbox.OktaID(p.Key))
		}
	}
	groupID := s.okta.AddGroup("Marketing", marketing...)
	s.okta.AddGroup("Agencies")
	dir := s.importOkta()
	type groupPage struct {
		Items []store.StoredGroup `json:"items"`
	}
	var groups groupPage
	if code := s.call("GET", "/v1/directories/"+dir.ID+"/groups?q=market", s.apiKey, nil, &groups); code != 200 ||
		len(groups.Items) != 1 || groups.Items[0].MemberCount != len(marketing) {
		t.Fatalf("groups: %d %+v", code, groups.Items)
	}
	if err := s.okta.SetMembership(groupID, marketing[0], false); err != nil {
		t.Fatal(err)
	}
	run, err := s.sync(dir.ID)
	if err != nil {
		t.Fatal(err)
	}
	s.call("GET", "/v1/directories/"+dir.ID+"/groups", s.apiKey, nil, &groups)
	if len(groups.Items) != 2 || groups.Items[1].Name != "Marketing" || groups.Items[1].MemberCount != len(marketing)-1 {
		t.Fatalf("after the change: %+v", groups.Items)
	}
	var runs struct {
		Items []store.SyncRun `json:"items"`
	}
	s.call("GET", "/v1/directories/"+dir.ID+"/sync-runs", s.apiKey, nil, &runs)
	if g, _ := runs.Items[0].Details["groups"].(map[string]any); g["members_removed"] != float64(1) || g["groups"] != float64(2) {
		t.Fatalf("details %v", runs.Items[0].Details)
	}
	assertNoSecrets(t, s, run.WorkflowID, run.RunID, oktaToken)
	exportHistory(t, s, run.WorkflowID, run.RunID, "directory_sync_okta_groups.json")
}

// An Entra import brings its groups through the groups delta query: the
// first import lists them all, the next only what changed.
func TestEntraGroupsImported(t *testing.T) {
	people := seed.Company(emailDomain, 200, 2)
	s := newStack(t, people)
	var ids []string
	for _, p := range people {
		if p.Status == domain.UserActive {
			ids = append(ids, entrasandbox.EntraID(p.Key))
		}
	}
	s.entra.AddGroup("g-marketing", "Marketing", ids[:20]...)
	dir := s.createDirectory(s.entraDirectoryBody())
	if _, err := s.sync(dir.ID); err != nil {
		t.Fatal(err)
	}
	var groups struct {
		Items []store.StoredGroup `json:"items"`
	}
	if s.call("GET", "/v1/directories/"+dir.ID+"/groups", s.apiKey, nil, &groups); len(groups.Items) != 1 || groups.Items[0].MemberCount != 20 {
		t.Fatalf("groups %+v", groups.Items)
	}
	if err := s.entra.SetMembership("g-marketing", ids[0], false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.sync(dir.ID); err != nil {
		t.Fatal(err)
	}
	s.call("GET", "/v1/directories/"+dir.ID+"/groups", s.apiKey, nil, &groups)
	var runs struct {
		Items []store.SyncRun `json:"items"`
	}
	s.call("GET", "/v1/directories/"+dir.ID+"/sync-runs", s.apiKey, nil, &runs)
	g, _ := runs.Items[0].Details["groups"].(map[string]any)
	if groups.Items[0].MemberCount != 19 || g["members_removed"] != float64(1) || g["members_added"] != float64(0) {
		t.Fatalf("after a member left: %+v, details %v", groups.Items, runs.Items[0].Details)
	}

	// An app without GroupMember.Read.All still imports its users; the run
	// says what to grant, and the directory stays ok.
	s.entra.DenyGroups()
	if _, err := s.sync(dir.ID); err != nil {
		t.Fatalf("an import without groups failed: %v", err)
	}
	s.call("GET", "/v1/directories/"+dir.ID+"/sync-runs", s.apiKey, nil, &runs)
	var got store.Directory
	s.call("GET", "/v1/directories/"+dir.ID, s.apiKey, nil, &got)
	if why, _ := runs.Items[0].Details["groups_error"].(string); !strings.Contains(why, "GroupMember.Read.All") || got.Status != domain.DirectoryOK {
		t.Fatalf("details %v, directory %s", runs.Items[0].Details, got.Status)
	}
}
