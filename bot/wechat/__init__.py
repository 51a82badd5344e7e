"""WeChat channels: residents through an Official Account (服务号), staff through a WeCom (企业微信) app.

```
WeChat server ──POST XML──> oa.py / work.py ──(signature, replay, AES)──> inbound.py ──> Router
                                      "success" at once (within WeChat's 5 seconds)
outbox ──> delivery.py ──> client.py (wechatpy over HTTP; token.py: one access token per app, shared
                           through the database) ──> customer-service / template messages, cards
```
"""
