/* Adam's fused update (the loop of _kernels.pyx's _adam_loop, float32) against the same
 * loop without its two divisions and square root (not the same numbers: a bound only),
 * with the division by the constant sqrt(1 - b2^t) done as a multiply by its rounded
 * reciprocal plus Markstein's FMA correction, and a plain pass over the same four arrays
 * (three read and written, one read). n elements, best of reps calls, one thread.
 *
 *   gcc -O3 -march=native -ffp-contract=off -fno-math-errno -fno-trapping-math \
 *       -o adam_probe adam_probe.c -lm && ./adam_probe 235000 200 && ./adam_probe 100000 300
 */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+1e-9*t.tv_nsec;}
__attribute__((noinline)) int adam(float step,float bc2,float b1,float ob1,float b2,float ob2,float eps,float scale,float lo,float hi,float wd,
  float*restrict p,const float*restrict g,float*restrict m,float*restrict v,long n){
  int ok=1;
  for(long i=0;i<n;i++){float gi=g[i]*scale; gi=gi>hi?hi:gi; gi=gi<lo?lo:gi; gi=gi+wd*p[i];
    float mi=b1*m[i]+ob1*gi; m[i]=mi; float vi=b2*v[i]+ob2*gi*gi; v[i]=vi; float chk=(mi-mi)+(vi-vi);
    float d=sqrtf(vi)/bc2+eps; float pi=p[i]-step*(mi/d); p[i]=pi; ok=ok&(chk+(pi-pi)==0);}
  return ok;}
__attribute__((noinline)) int adam_nodiv(float step,float bc2,float b1,float ob1,float b2,float ob2,float eps,float scale,float lo,float hi,float wd,
  float*restrict p,const float*restrict g,float*restrict m,float*restrict v,long n){
  int ok=1;
  for(long i=0;i<n;i++){float gi=g[i]*scale; gi=gi>hi?hi:gi; gi=gi<lo?lo:gi; gi=gi+wd*p[i];
    float mi=b1*m[i]+ob1*gi; m[i]=mi; float vi=b2*v[i]+ob2*gi*gi; v[i]=vi; float chk=(mi-mi)+(vi-vi);
    float d=vi*bc2+eps; float pi=p[i]-step*(mi*d); p[i]=pi; ok=ok&(chk+(pi-pi)==0);}
  return ok;}
__attribute__((noinline)) int adam_mark(float step,float bc2,float b1,float ob1,float b2,float ob2,float eps,float scale,float lo,float hi,float wd,
  float*restrict p,const float*restrict g,float*restrict m,float*restrict v,long n){
  int ok=1; float rc=1.0f/bc2;
  for(long i=0;i<n;i++){float gi=g[i]*scale; gi=gi>hi?hi:gi; gi=gi<lo?lo:gi; gi=gi+wd*p[i];
    float mi=b1*m[i]+ob1*gi; m[i]=mi; float vi=b2*v[i]+ob2*gi*gi; v[i]=vi; float chk=(mi-mi)+(vi-vi);
    float s=sqrtf(vi); float q=s*rc; float r=fmaf(-q,bc2,s); q=fmaf(r,rc,q);
    float d=q+eps; float pi=p[i]-step*(mi/d); p[i]=pi; ok=ok&(chk+(pi-pi)==0);}
  return ok;}
__attribute__((noinline)) void copy4(float*restrict p,const float*restrict g,float*restrict m,float*restrict v,long n){
  for(long i=0;i<n;i++){p[i]=p[i]+g[i]; m[i]=m[i]*0.9f; v[i]=v[i]*0.9f;}}
int main(int argc,char**argv){long n=atol(argv[1]); int reps=atoi(argv[2]);
  float*p=malloc(n*4),*g=malloc(n*4),*m=malloc(n*4),*v=malloc(n*4);
  for(long i=0;i<n;i++){p[i]=0.01f*(i%100);g[i]=0.001f*(i%37);m[i]=0;v[i]=0;}
  double b[4]={1e9,1e9,1e9,1e9}; int ok=0;
  for(int r=0;r<reps;r++){double t=now(); ok+=adam(1e-3f,0.5f,0.9f,0.1f,0.999f,0.001f,1e-7f,1,-INFINITY,INFINITY,0,p,g,m,v,n); t=now()-t; if(t<b[0])b[0]=t;
    t=now(); ok+=adam_nodiv(1e-3f,0.5f,0.9f,0.1f,0.999f,0.001f,1e-7f,1,-INFINITY,INFINITY,0,p,g,m,v,n); t=now()-t; if(t<b[1])b[1]=t;
    t=now(); ok+=adam_mark(1e-3f,0.5f,0.9f,0.1f,0.999f,0.001f,1e-7f,1,-INFINITY,INFINITY,0,p,g,m,v,n); t=now()-t; if(t<b[2])b[2]=t;
    t=now(); copy4(p,g,m,v,n); t=now()-t; if(t<b[3])b[3]=t;}
  printf("n=%ld adam %.1f us  adam-no-div/sqrt %.1f us  markstein %.1f us  plain 4-stream pass %.1f us  (%d)\n",n,1e6*b[0],1e6*b[1],1e6*b[2],1e6*b[3],ok);}
