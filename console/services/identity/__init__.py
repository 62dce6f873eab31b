"""Identity: where people come from and how they prove who they are, beyond a local password.

- clerk.py: the Clerk user mirror (user.created / updated / deleted keep `users` in step);
- sso.py: single sign-on through an organization's OpenID Connect provider (Authlib), people matched
  by (issuer, subject), first sign-in joins the organization on a free seat.

Services take a session and an actor and never commit; docs/identity.md has the rules and why.
"""
