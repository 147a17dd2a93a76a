package pinterest

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
	"github.com/hubkeeper/hubkeeper/internal/domain"
)

// readRows reads every row matching rowSel on the page: its idAttr and the
// text of each named cell selector.
func (c *Client) readRows(step, rowSel, idAttr string, cells map[string]string) ([]map[string]string, error) {
	arg, _ := json.Marshal(map[string]any{"row": rowSel, "id": idAttr, "cells": cells})
	res, err := c.s.Timed().Eval(`(a) => [...document.querySelectorAll(a.row)].map(r => {
		const out = {id: r.getAttribute(a.id) || ''};
		for (const [k, sel] of Object.entries(a.cells)) { const el = r.querySelector(sel); out[k] = el ? el.textContent.trim() : '' }
		return out;
	})`, json.RawMessage(arg))
	if err != nil {
		return nil, c.transient(step, err)
	}
	var rows []map[string]string
	if err := json.Unmarshal([]byte(res.Value.JSON("", "")), &rows); err != nil {
		return nil, c.transient(step, err)
	}
	return rows, nil
}

// PendingInvites lists the invitations not yet accepted.
func (c *Client) PendingInvites() ([]domain.BusinessMember, error) {
	if err := c.open(c.businessURL(manageUI.InvitesPage)); err != nil {
		return nil, err
	}
	rows, err := c.readRows("invites", manageUI.InviteRow, manageUI.InviteIDAttr,
		map[string]string{"email": manageUI.InviteEmail, "role": manageUI.InviteRole})
	if err != nil {
		return nil, err
	}
	var out []domain.BusinessMember
	for _, r := range rows {
		out = append(out, domain.BusinessMember{ExternalID: r["id"], Kind: domain.MemberInvitation, Email: strings.ToLower(r["email"]),
			Role: roleNames[r["role"]], InvitationStatus: "PENDING"})
	}
	return out, nil
}

// AdAccounts lists the business's ad accounts and who holds each, with
// their permission as the grant's one task.
func (c *Client) AdAccounts() ([]domain.Asset, []domain.Grant, error) {
	if err := c.open(c.businessURL(manageUI.AdAccountsPage)); err != nil {
		return nil, nil, err
	}
	rows, err := c.readRows("ad accounts", manageUI.AdAccountRow, manageUI.AdAccountIDAttr, map[string]string{"name": manageUI.AdAccountName})
	if err != nil {
		return nil, nil, err
	}
	var assets []domain.Asset
	var grants []domain.Grant
	for _, r := range rows {
		assets = append(assets, domain.Asset{ExternalID: r["id"], Type: "ad_account", Ownership: "owned", Name: r["name"]})
		if err := c.open(c.businessURL(manageUI.AdAccountsPage + r["id"] + "/")); err != nil {
			return nil, nil, err
		}
		people, err := c.readRows("ad account people", manageUI.AdAccountPerson, manageUI.AdAccountPersonIDAttr,
			map[string]string{"permission": manageUI.AdAccountPermission})
		if err != nil {
			return nil, nil, err
		}
		for _, p := range people {
			grants = append(grants, domain.Grant{AssetID: r["id"], MemberID: p["id"], Tasks: []string{p["permission"]}})
		}
	}
	return assets, grants, nil
}

// Invite adds people by e-mail with a role (EMPLOYEE or BIZ_ADMIN), as
// "Add employee" or "Invite people" does; they stay pending until accepted.
func (c *Client) Invite(emails []string, role string) error {
	if err := c.open(c.businessURL("")); err != nil {
		return err
	}
	link, err := c.find("invite", manageUI.AddLink)
	if err != nil {
		return err
	}
	if err := c.click(link, "invite"); err != nil {
		return err
	}
	has, radio, err := c.s.Timed().Has(fmt.Sprintf(manageUI.RoleRadio, role))
	switch {
	case err != nil:
		return c.transient("invite", err)
	case has:
		if err := radio.Click(proto.InputMouseButtonLeft, 1); err != nil {
			return c.transient("invite", err)
		}
	default:
		if err := c.selectRole("invite", role); err != nil {
			return err
		}
	}
	field, err := c.find("invite", manageUI.EmailsField)
	if err != nil {
		return err
	}
	if err := field.Input(strings.Join(emails, ", ")); err != nil {
		return c.transient("invite", err)
	}
	submit, err := c.find("invite", manageUI.AddSubmit)
	if err != nil {
		return err
	}
	if err := c.click(submit, "invite"); err != nil {
		return err
	}
	has, alert, err := c.s.Timed().Has(manageUI.FormError)
	if err != nil {
		return c.transient("invite", err)
	}
	if has {
		text, _ := alert.Text()
		return c.fail(domain.Permanent, "refused", "invite", "Pinterest refused the invitation: "+text)
	}
	return nil
}

// find returns the element a selector names on the loaded page, without
// waiting; a missing one means the UI changed.
func (c *Client) find(step, selector string) (*rod.Element, error) {
	has, el, err := c.s.Timed().Has(selector)
	if err != nil {
		return nil, c.transient(step, err)
	}
	if !has {
		return nil, c.fail(domain.Permanent, "ui_changed", step, fmt.Sprintf("nothing matches %s on %s", selector, c.path()))
	}
	return el, nil
}

// selectRole picks a role in the page's role select.
func (c *Client) selectRole(step, role string) error {
	sel, err := c.find(step, manageUI.RoleSelect)
	if err != nil {
		return err
	}
	if err := sel.Select([]string{fmt.Sprintf(`[value="%s"]`, role)}, true, rod.SelectorTypeCSSSector); err != nil {
		return c.transient(step, err)
	}
	return nil
}

// memberGone reports whether the page is a "not found" page instead of a member's.
func (c *Client) memberGone() (bool, error) {
	p := c.s.Timed()
	has, _, err := p.Has(manageUI.MemberDetail)
	if err != nil || has {
		return false, err
	}
	has, _, err = p.HasR("body", manageUI.NotFoundText)
	return has, err
}

// SetRole changes a member's role (EMPLOYEE or BIZ_ADMIN) on their page.
func (c *Client) SetRole(memberID, role string) error {
	if err := c.open(c.businessURL(fmt.Sprintf(manageUI.MemberPage, memberID))); err != nil {
		return err
	}
	if err := c.selectRole("role", role); err != nil {
		return err
	}
	save, err := c.find("role", manageUI.RoleSave)
	if err != nil {
		return err
	}
	return c.click(save, "role")
}

// Remove takes a member out of the business on their page and reports
// whether they were there; a member already gone counts as removed.
func (c *Client) Remove(memberID string) (bool, error) {
	if err := c.open(c.businessURL(fmt.Sprintf(manageUI.MemberPage, memberID))); err != nil {
		return false, err
	}
	gone, err := c.memberGone()
	if err != nil || gone {
		return false, err
	}
	has, btn, err := c.s.Timed().Has(manageUI.RemoveButton)
	if err == nil && !has {
		has, btn, err = c.s.Timed().HasR("button", manageUI.RemoveButtonText)
	}
	if err != nil {
		return false, c.transient("remove", err)
	}
	if !has {
		return false, c.fail(domain.Permanent, "ui_changed", "remove", "no Remove control on "+c.path())
	}
	return true, c.click(btn, "remove")
}
