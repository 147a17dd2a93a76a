package pinsandbox

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// Consent does what a person does with an app's consent link on the
// sandbox: logs in to the web app as email, then allows the app (or, with
// allow false, cancels). It returns where the browser is sent back: the
// app's redirect URI with the code (or error) and state. The dev stack
// consents for its demo this way; tests do too.
func Consent(ctx context.Context, consentURL, email, password string, allow bool) (*url.URL, error) {
	consent, err := url.Parse(consentURL)
	if err != nil {
		return nil, err
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host != consent.Host {
			return http.ErrUseLastResponse // back to the app: its URI is the answer
		}
		return nil
	}}
	send := func(method, target string, form url.Values) (*http.Response, string, error) {
		req, err := http.NewRequestWithContext(ctx, method, target, strings.NewReader(form.Encode()))
		if err != nil {
			return nil, "", err
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		page, _ := io.ReadAll(resp.Body)
		return resp, string(page), nil
	}
	token := func(page string) (string, error) {
		m := csrfField.FindStringSubmatch(page)
		if m == nil {
			return "", fmt.Errorf("pinsandbox: no form where one was expected")
		}
		return m[1], nil
	}
	origin := consent.Scheme + "://" + consent.Host
	_, page, err := send(http.MethodGet, origin+"/login/?next="+url.QueryEscape(consent.RequestURI()), nil)
	if err != nil {
		return nil, err
	}
	csrf, err := token(page)
	if err != nil {
		return nil, err
	}
	resp, page, err := send(http.MethodPost, origin+"/login/", url.Values{"csrf_token": {csrf}, "id": {email}, "password": {password},
		"next": {consent.RequestURI()}})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-test-id="oauth-consent"`) {
		return nil, fmt.Errorf("pinsandbox: the login did not reach the consent page (%d)", resp.StatusCode)
	}
	if csrf, err = token(page); err != nil {
		return nil, err
	}
	form := url.Values{"csrf_token": {csrf}, "decision": {"deny"}}
	if allow {
		form.Set("decision", "allow")
	}
	for k, v := range consent.Query() {
		form[k] = v
	}
	resp, _, err = send(http.MethodPost, origin+"/oauth/", form)
	if err != nil {
		return nil, err
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		return nil, fmt.Errorf("pinsandbox: the consent did not send the browser back (%d)", resp.StatusCode)
	}
	return back, nil
}
