/* What the console page knows right now, in one object the modules share (imports cannot be reassigned). */

export const state = {
  me: null,            // {username, display_name, role, csrf_token} while signed in
  names: {},           // username -> display name
  handoffs: [],        // the queue as last loaded
  current: null,       // the open conversation's detail
  currentId: null,
  editing: null,       // "edit" | "reject" while the agent works on the draft: don't redraw it
  view: "inbox",       // inbox | analytics | admin
  list: "queue",       // queue | all
  searching: null,     // {q, next} while search results are shown
  canned: [],          // canned responses
};

export function nameOf(username) { return state.names[username] || username; }
