/*
 * The native yardstick for bench/gost.ts: OpenSSL's gost engine signing and verifying a
 * digest in a plain loop (EVP_PKEY_sign / EVP_PKEY_verify, one thread), on a fresh key of
 * the given parameter set. Prints "<sign ops/s> <verify ops/s>" per CPU second.
 *
 *   cc -O2 -o gost-native bench/gost-native.c -lcrypto
 *   ./gost-native gost2012_256 A 500      # algorithm, engine paramset, ms of CPU per operation
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); /* CPU time: other processes' slices don't count */
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "gost-native: %s\n", what);
  ERR_print_errors_fp(stderr);
  exit(1);
}

int main(int argc, char **argv) {
  if (argc != 4) die("usage: gost-native <gost2012_256|gost2012_512> <paramset> <ms>");
  ENGINE *e = ENGINE_by_id("gost");
  if (!e || !ENGINE_init(e)) die("no gost engine (apt-get install libengine-gost-openssl)");
  ENGINE_set_default(e, ENGINE_METHOD_ALL);
  int nid = OBJ_sn2nid(argv[1]);
  if (nid == NID_undef) die("unknown algorithm");
  EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(nid, e);
  EVP_PKEY *key = NULL;
  if (!kc || EVP_PKEY_keygen_init(kc) <= 0) die("keygen init");
  if (EVP_PKEY_CTX_ctrl_str(kc, "paramset", argv[2]) <= 0) die("unknown paramset");
  if (EVP_PKEY_keygen(kc, &key) <= 0) die("keygen");

  size_t len = strstr(argv[1], "512") ? 64 : 32;
  unsigned char digest[64], sig[128];
  for (size_t i = 0; i < len; i++) digest[i] = (unsigned char)(i * 7 + 1);
  size_t sigLen = sizeof sig;
  double budget = atof(argv[3]) / 1000;
  EVP_PKEY_CTX *sc = EVP_PKEY_CTX_new(key, e), *vc = EVP_PKEY_CTX_new(key, e);
  if (!sc || EVP_PKEY_sign_init(sc) <= 0 || !vc || EVP_PKEY_verify_init(vc) <= 0) die("init");

  long n = 0;
  double t0 = now(), t;
  do {
    sigLen = sizeof sig;
    if (EVP_PKEY_sign(sc, sig, &sigLen, digest, len) <= 0) die("sign");
    n++;
  } while ((t = now() - t0) < budget);
  double signs = (double)n / t;
  n = 0;
  t0 = now();
  do {
    if (EVP_PKEY_verify(vc, sig, sigLen, digest, len) != 1) die("verify");
    n++;
  } while ((t = now() - t0) < budget);
  printf("%.1f %.1f\n", signs, (double)n / t);
  return 0;
}
