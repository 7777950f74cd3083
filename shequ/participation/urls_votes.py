"""Routes of this page area (see urls.py): polls, owners' votes and elections — staff, residents,
trustees, and the public results, boards and voter lists."""

from django.urls import URLPattern, URLResolver, path

from shequ.participation import views_ballot, views_public_votes, views_votes

urlpatterns: list[URLPattern | URLResolver] = [
    path("votes/", views_votes.vote_list, name="votes"),
    path("votes/new/", views_votes.vote_new, name="vote_new"),
    path("votes/<int:pk>/", views_votes.vote_detail, name="vote"),
    path("votes/<int:pk>/roll/", views_votes.vote_roll, name="vote_roll"),
    path("my/votes/", views_ballot.my_votes, name="my_votes"),
    path("my/votes/<str:uid>/", views_ballot.ballot, name="ballot"),
    path("my/votes/<str:uid>/objection/", views_ballot.objection, name="objection"),
    path("trustee/", views_ballot.trustee_home, name="trustee_home"),
    path("trustee/<int:pk>/key/", views_ballot.trustee_key, name="trustee_key"),
    path("trustee/<int:pk>/count/", views_ballot.trustee_count, name="trustee_count"),
    path("public/votes/<str:uid>/", views_public_votes.public_vote, name="public_vote"),
    path("public/votes/<str:uid>/board/", views_public_votes.public_board, name="public_board"),
    path("public/votes/<str:uid>/board.json", views_public_votes.public_board_json, name="public_board_json"),
    path("public/votes/<str:uid>/roll/", views_public_votes.public_roll, name="public_roll"),
    path("public/<str:code>/votes/", views_public_votes.public_votes, name="public_votes"),
]
