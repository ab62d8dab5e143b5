package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"remoteidv/models"
	"remoteidv/webhook"
)

const webhooksUsage = "usage: idv webhooks add --url URL --events TYPE[,TYPE] [--description TEXT] | list | disable ID | enable ID | delete ID | deliveries [--endpoint ID] [--state pending|delivered|failed] | redeliver ID"

// runWebhooks manages webhook endpoints and their deliveries as the
// operator (audited as cli), as admins do through the API. A secret of
// one's own is read from IDV_NEW_WEBHOOK_SECRET; else one is made and
// printed once.
func runWebhooks(ctx context.Context, e *cliEnv, args []string) error {
	if len(args) == 0 {
		return usageError(webhooksUsage)
	}
	verb, args := args[0], args[1:]
	takesID := map[string]bool{"disable": true, "enable": true, "delete": true, "redeliver": true}
	if verb != "add" && verb != "list" && verb != "deliveries" && !takesID[verb] {
		return usageError(webhooksUsage)
	}
	fs := subFlags("webhooks "+verb, e)
	u := fs.String("url", "", "the receiver's http(s) URL")
	events := fs.String("events", "", "event types, comma-separated, or *: "+strings.Join(webhook.Types, ", "))
	desc := fs.String("description", "", "what the endpoint is for")
	endpoint := fs.String("endpoint", "", "deliveries: only this endpoint's")
	state := fs.String("state", "", "deliveries: only those in this state")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	var id string
	if takesID[verb] {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return usageError(webhooksUsage)
		}
		id, rest = rest[0], rest[1:]
	}
	return withApp(ctx, e, "webhooks "+verb, rest, func(a *app, _ []string) error {
		wh := webhook.New(a.store, a.chain, time.Now, rand.Reader, a.log, webhook.Config{Timeout: a.cfg.Webhook.Timeout, RetryFor: a.cfg.Webhook.RetryFor}, nil)
		switch verb {
		case "add":
			var types []string
			for _, t := range strings.Split(*events, ",") {
				if t = strings.TrimSpace(t); t != "" {
					types = append(types, t)
				}
			}
			ep, err := wh.CreateEndpoint(ctx, "cli", webhook.NewEndpoint{URL: *u, Description: *desc, Events: types, Secret: e.getenv("IDV_NEW_WEBHOOK_SECRET")})
			if err != nil {
				return fmt.Errorf("webhooks add: %w", err)
			}
			fmt.Fprintf(e.stderr, "endpoint %s for %s (%s); its signing secret (shown once):\n", ep.ID, ep.URL, strings.Join(ep.Events, ", "))
			fmt.Fprintln(e.stdout, ep.Secret)
		case "list":
			eps, err := wh.Endpoints(ctx)
			if err != nil {
				return fmt.Errorf("webhooks list: %w", err)
			}
			fmt.Fprintf(e.stdout, "%-38s %-8s %-40s %s\n", "ID", "STATE", "EVENTS", "URL")
			for _, ep := range eps {
				st := "active"
				if !ep.Active() {
					st = "disabled"
				}
				fmt.Fprintf(e.stdout, "%-38s %-8s %-40s %s\n", ep.ID, st, strings.Join(ep.Events, ","), ep.URL)
			}
		case "disable", "enable":
			if err := wh.SetDisabled(ctx, "cli", id, verb == "disable"); err != nil {
				return fmt.Errorf("webhooks %s: %w", verb, err)
			}
			fmt.Fprintf(e.stdout, "%sd %s\n", verb, id)
		case "delete":
			if err := wh.Delete(ctx, "cli", id); err != nil {
				return fmt.Errorf("webhooks delete: %w", err)
			}
			fmt.Fprintf(e.stdout, "deleted %s\n", id)
		case "deliveries":
			ds, err := wh.Deliveries(ctx, models.WebhookDeliveryFilter{EndpointID: *endpoint, State: models.WebhookState(*state)})
			if err != nil {
				return fmt.Errorf("webhooks deliveries: %w", err)
			}
			fmt.Fprintf(e.stdout, "%-38s %-22s %-10s %-8s %-6s %-20s %s\n", "ID", "TYPE", "STATE", "ATTEMPTS", "STATUS", "CREATED", "LAST ERROR")
			for _, d := range ds {
				fmt.Fprintf(e.stdout, "%-38s %-22s %-10s %-8d %-6d %-20s %s\n", d.ID, d.Type, d.State, d.Attempts, d.LastStatus, d.CreatedAt.Format(time.RFC3339), d.LastError)
			}
		case "redeliver":
			if err := wh.Redeliver(ctx, "cli", id); err != nil {
				return fmt.Errorf("webhooks redeliver: %w", err)
			}
			fmt.Fprintf(e.stdout, "queued %s again\n", id)
		}
		return nil
	})
}
