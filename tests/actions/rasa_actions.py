"""A tiny Rasa custom action, served by the real rasa-sdk action server in tests/actions/test_rasa.py."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

SHIPMENTS = {("demo-customer", "1001"): ("shipped", "DHL")}


class OrderStatus(Action):
    def name(self) -> str:
        return "action_order_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        found = SHIPMENTS.get((tracker.sender_id, str(tracker.get_slot("order_id"))))
        if found is None:
            return [SlotSet("order_state", None)]
        verified = tracker.latest_message["metadata"]["supportbot_identity"]["verified"]
        dispatcher.utter_message(text=f"Order {tracker.get_slot('order_id')} has {found[0]} with {found[1]}.")
        return [SlotSet("order_state", found[0]), SlotSet("carrier", found[1]), SlotSet("checked_verified", verified)]
