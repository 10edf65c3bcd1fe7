"""Rooms and forums, roles, membership and moderation rules.

Never imports `chat` or `web`: the hub asks these rules, the rules know nothing of sockets.
"""
from rooms.models import Role, Room, RoomState, is_room_id

__all__ = ["Role", "Room", "RoomState", "is_room_id"]
