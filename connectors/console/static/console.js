/* Agent console: live queue, one conversation at a time, drafts, replies, analytics and admin.
 * Signed in with an account (HttpOnly session cookie); every change sends the session's CSRF token.
 * All data from the API is inserted with textContent, never as HTML.
 *
 * Native ES modules, served as they are (no build step): this entry point is /console.js, the modules
 * beside it are /console/NAME.js. Each module wires its own part of console.html when it loads. */

import "./console/admin.js";
import "./console/alerts.js";
import "./console/analytics.js";
import "./console/canned.js";
import "./console/composer.js";
import "./console/conversation.js";
import "./console/live.js";
import "./console/queue.js";
import "./console/search.js";
import { resume } from "./console/session.js";

resume();
