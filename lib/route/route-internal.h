/*
 * route-internal.h - what the files of route/ share, not exported: the
 * state file's JSON helpers (state.c) and the epsilon decay (route.c).
 */
#ifndef SG_ROUTER_H
#define SG_ROUTER_H

#include <jansson.h>

/* state.c: the object under key, made when missing or not an object. */
json_t *sg_child(json_t *parent, const char *key);
/* A number for the state file: an integer while it is whole. */
json_t *sg_jnum(double v);
/* route.c: epsilon after the state's epsilon_rewards rewards. */
void sg_epsilon_update(json_t *state);

#endif
