app_name = "linebot"

urlpatterns: list = []
