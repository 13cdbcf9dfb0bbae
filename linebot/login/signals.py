from django.dispatch import Signal

# user, channel, line_user_id, profile (dict: name, picture, email), friend_flag (bool|None),
# friendship_status_changed (bool|None)
line_login_completed = Signal()
