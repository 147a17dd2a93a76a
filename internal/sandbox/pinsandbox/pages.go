package pinsandbox

// pageTemplates are the web app's pages. The "employees" and "people"
// templates are the two generations of the members UI: a table with
// data-test-id cells, and ARIA rows of divs.
const pageTemplates = `
{{define "head"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{.}} | Pinterest Business</title></head><body>{{end}}
{{define "nav"}}<nav data-test-id="business-nav"><a href="{{.Base}}{{.Flow}}/">{{if eq .Flow "people"}}People{{else}}Employees{{end}}</a>
<a href="{{.Base}}invites/">Invitations</a> <a href="{{.Base}}ad-accounts/">Ad accounts</a></nav><h1>{{.Business.Name}}</h1>{{end}}

{{define "login"}}{{template "head" "Log in"}}
<form method="post" action="/login/" data-test-id="login-form">
{{if .Error}}<div role="alert" data-test-id="login-error">{{.Error}}</div>{{end}}
<input type="hidden" name="csrf_token" value="{{.CSRF}}"><input type="hidden" name="next" value="{{.Next}}">
<label>Email <input id="email" name="id" type="email" autocomplete="username"></label>
<label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label>
<button type="submit" data-test-id="registerFormSubmitButton">Log in</button></form></body></html>{{end}}

{{define "verify"}}{{template "head" "Confirm it's you"}}
<form method="post" action="/login/verify/" data-test-id="verification-form">
<p>We sent a code to your e-mail. Enter it to log in on this browser.</p>
{{if .Error}}<div role="alert" data-test-id="verification-error">{{.Error}}</div>{{end}}
<input type="hidden" name="next" value="{{.Next}}">
<label>Code <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code"></label>
<button type="submit">Confirm</button></form></body></html>{{end}}

{{define "forbidden"}}{{template "head" "Not allowed"}}<div role="alert" data-test-id="access-denied">{{if .CSRF}}Your session changed. Reload the page and try again.{{else}}You need the Manager role in this business to see this page.{{end}}</div></body></html>{{end}}

{{define "employees"}}{{template "head" "Employees"}}{{template "nav" .}}
<a href="{{.Base}}employees/add/" data-test-id="add-employee-button">Add employee</a>
<table data-test-id="employees-table"><thead><tr><th>Name</th><th>Email</th><th>Role</th><th></th></tr></thead><tbody>
{{range .Members}}<tr data-test-id="employee-row" data-member-id="{{.ID}}"><td data-test-id="employee-name">{{.Name}}</td>
<td data-test-id="employee-email">{{.Email}}</td><td data-test-id="employee-role">{{role .Role}}</td>
<td><a data-test-id="edit-employee" href="{{$.Base}}members/{{.ID}}/">Edit</a></td></tr>
{{end}}</tbody></table>
<p data-test-id="employees-count">{{.Total}} employees</p>
{{if .Next}}<a data-test-id="pagination-next" href="{{.Base}}employees/?page={{.Next}}">Next</a>{{end}}
</body></html>{{end}}

{{define "people"}}{{template "head" "People"}}{{template "nav" .}}
<a href="{{.Base}}people/invite/" role="button" aria-label="Invite people">Invite people</a>
<div role="table" aria-label="People" aria-rowcount="{{.Total}}">
<div role="row" class="header"><span role="columnheader">Person</span><span role="columnheader">Access</span></div>
{{range .Members}}<div role="row" data-member-id="{{.ID}}"><div role="cell"><div data-test-id="person-name">{{.Name}}</div>
<div data-test-id="person-email">{{.Email}}</div></div><div role="cell"><span data-test-id="person-role">{{role .Role}}</span>
<a aria-label="Manage {{.Name}}" href="{{$.Base}}members/{{.ID}}/">…</a></div></div>
{{end}}</div>
{{if .Next}}<a aria-label="Next page" href="{{.Base}}people/?page={{.Next}}">›</a>{{end}}
</body></html>{{end}}

{{define "redesign"}}{{template "head" "Team"}}{{template "nav" .}}
<ul class="team-grid">{{range .Members}}<li class="team-card" data-uid="{{.ID}}"><b>{{.Name}}</b> <i>{{.Email}}</i> {{role .Role}}</li>{{end}}</ul>
</body></html>{{end}}

{{define "employees-add"}}{{template "head" "Add employee"}}{{template "nav" .}}
<form method="post" action="{{.Base}}employees/add/" data-test-id="add-employee-form">
{{if .Error}}<div role="alert">{{.Error}}</div>{{end}}
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<fieldset><legend>Role</legend><label><input type="radio" name="role" value="EMPLOYEE"> Employee</label>
<label><input type="radio" name="role" value="BIZ_ADMIN"> Manager</label></fieldset>
<label>Business emails <textarea name="emails" data-test-id="employee-emails"></textarea></label>
<button type="submit" data-test-id="add-employees-submit">Add</button></form></body></html>{{end}}

{{define "people-add"}}{{template "head" "Invite people"}}{{template "nav" .}}
<form method="post" action="{{.Base}}people/invite/" aria-label="Invite people">
{{if .Error}}<div role="alert">{{.Error}}</div>{{end}}
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<label>Email addresses <input name="emails" type="text" aria-label="Email addresses"></label>
<label>Access <select name="role" aria-label="Access"><option value="">Choose</option><option value="EMPLOYEE">Employee</option>
<option value="BIZ_ADMIN">Manager</option></select></label>
<button type="submit">Send invites</button></form></body></html>{{end}}

{{define "member"}}{{template "head" .Member.Name}}{{template "nav" .}}
<section data-test-id="member-detail" data-member-id="{{.Member.ID}}"><h2>{{.Member.Name}}</h2><p>{{.Member.Email}}</p>
<form method="post" action="{{.Base}}members/{{.Member.ID}}/role/"><input type="hidden" name="csrf_token" value="{{.CSRF}}">
<label>{{if eq .Flow "people"}}Access{{else}}Role{{end}} <select name="role">
<option value="EMPLOYEE"{{if eq .Member.Role "EMPLOYEE"}} selected{{end}}>Employee</option>
<option value="BIZ_ADMIN"{{if eq .Member.Role "BIZ_ADMIN"}} selected{{end}}>Manager</option></select></label>
<button type="submit">Save</button></form>
<form method="post" action="{{.Base}}members/{{.Member.ID}}/remove/"><input type="hidden" name="csrf_token" value="{{.CSRF}}">
<button type="submit" data-test-id="remove-member">{{if eq .Flow "people"}}Remove from business{{else}}Remove employee{{end}}</button></form>
</section></body></html>{{end}}

{{define "invites"}}{{template "head" "Invitations"}}{{template "nav" .}}
<table data-test-id="invites-table"><tbody>
{{range .Invites}}<tr data-test-id="invite-row" data-invite-id="{{.ID}}"><td data-test-id="invite-email">{{.Email}}</td>
<td data-test-id="invite-role">{{role .Role}}</td><td data-test-id="invite-status">{{.Status}}</td></tr>
{{end}}</tbody></table></body></html>{{end}}

{{define "adaccounts"}}{{template "head" "Ad accounts"}}{{template "nav" .}}
<table data-test-id="ad-accounts-table"><tbody>
{{range .AdAccounts}}<tr data-test-id="ad-account-row" data-ad-account-id="{{.ID}}"><td><a href="{{$.Base}}ad-accounts/{{.ID}}/">{{.Name}}</a></td></tr>
{{end}}</tbody></table></body></html>{{end}}

{{define "adaccount"}}{{template "head" .Account.Name}}{{template "nav" .}}
<h2 data-test-id="ad-account-name" data-ad-account-id="{{.Account.ID}}">{{.Account.Name}}</h2>
<table data-test-id="ad-account-people"><tbody>
{{range .Holders}}<tr data-test-id="ad-account-person" data-member-id="{{.ID}}"><td>{{.Name}}</td><td>{{.Email}}</td>
<td data-test-id="ad-account-permission">{{.Permission}}</td></tr>
{{end}}</tbody></table></body></html>{{end}}
`
